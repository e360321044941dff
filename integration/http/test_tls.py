"""TLS on the server's own listener: TLS 1.3 only, the certificate verified by a client that trusts
the test CA, and a renewed certificate picked up on SIGHUP without a restart (connections already
open keep working); files that do not make a pair are refused at start and on reload."""
import http.client
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from instances import Instance


def openssl(*args):
    subprocess.run(["openssl", *args], check=True, capture_output=True)


class ScratchCA:
    """A throwaway certificate authority and leaves it signs, for localhost and 127.0.0.1."""

    def __init__(self, directory):
        self.directory = directory
        self.cert = os.path.join(directory, "ca.crt")
        key = os.path.join(directory, "ca.key")
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                "-subj", "/CN=jarvis test CA", "-keyout", key, "-out", self.cert)
        self.key = key

    def leaf(self, name):
        key = os.path.join(self.directory, f"{name}.key")
        csr = os.path.join(self.directory, f"{name}.csr")
        cert = os.path.join(self.directory, f"{name}.crt")
        extensions = os.path.join(self.directory, f"{name}.ext")
        with open(extensions, "w") as f:
            f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={name}",
                "-keyout", key, "-out", csr)
        openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial", "-days", "1",
                "-extfile", extensions, "-out", cert)
        return cert, key


@pytest.fixture(scope="module")
def pki():
    directory = tempfile.mkdtemp(prefix="jarvis-tls-")
    ca = ScratchCA(directory)
    yield ca
    shutil.rmtree(directory, ignore_errors=True)


def client_context(ca, maximum=None):
    context = ssl.create_default_context(cafile=ca.cert)
    if maximum:
        context.maximum_version = maximum
    return context


def handshake(port, context):
    """The negotiated version and the server certificate's common name."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            subject = dict(item[0] for item in tls.getpeercert()["subject"])
            return tls.version(), subject["commonName"]


def https_get(port, ca, path):
    connection = http.client.HTTPSConnection("localhost", port, context=client_context(ca), timeout=5)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def wait_https(instance, ca, seconds=20):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert instance.process.poll() is None, "the TLS instance exited"
        try:
            if https_get(instance.port, ca, "/readyz")[0] == 200:
                return
        except (OSError, ssl.SSLError, http.client.HTTPException):
            pass
        time.sleep(0.1)
    raise AssertionError("the TLS instance never became ready")


def test_tls13_listener_reloads_its_certificate_on_sighup(pki):
    first_cert, first_key = pki.leaf("jarvis-first")
    second_cert, second_key = pki.leaf("jarvis-second")
    live = os.path.join(pki.directory, "live")
    os.makedirs(live, exist_ok=True)
    cert, key = os.path.join(live, "tls.crt"), os.path.join(live, "tls.key")
    shutil.copy(first_cert, cert)
    shutil.copy(first_key, key)

    instance = Instance("tls", env={"JARVIS_TLS_CERT_FILE": cert, "JARVIS_TLS_KEY_FILE": key}, wait_ready=False)
    try:
        wait_https(instance, pki)
        assert handshake(instance.port, client_context(pki)) == ("TLSv1.3", "jarvis-first")
        # Nothing below TLS 1.3 is accepted, and plain HTTP on the port gets no answer.
        with pytest.raises(ssl.SSLError):
            handshake(instance.port, client_context(pki, maximum=ssl.TLSVersion.TLSv1_2))
        with pytest.raises((http.client.HTTPException, ConnectionError, socket.timeout)):
            plain = http.client.HTTPConnection("127.0.0.1", instance.port, timeout=3)
            plain.request("GET", "/readyz")
            plain.getresponse().read()

        kept = http.client.HTTPSConnection("localhost", instance.port, context=client_context(pki), timeout=5)
        kept.request("GET", "/healthz")
        assert kept.getresponse().read() is not None

        # A renewal: new files in place, SIGHUP, and the next handshake shows the new certificate.
        shutil.copy(second_cert, cert + ".new")
        shutil.copy(second_key, key + ".new")
        os.replace(key + ".new", key)
        os.replace(cert + ".new", cert)
        instance.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while handshake(instance.port, client_context(pki))[1] != "jarvis-second":
            assert time.monotonic() < deadline, "the reloaded certificate was not served within 5 s"
            time.sleep(0.05)
        kept.request("GET", "/healthz")
        assert kept.getresponse().status == 200, "a connection opened before the reload should keep working"

        # A broken renewal (a key that does not belong to the certificate) is refused; the pair in use stays.
        shutil.copy(first_key, key)
        instance.process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 5
        while True:
            status, body = https_get(instance.port, pki, "/metrics")
            refused = re.search(rb'jarvis_tls_certificate_reloads_total\{outcome="refused"\} (\d+)', body)
            if refused and int(refused.group(1)) >= 1:
                break
            assert time.monotonic() < deadline, "the refused reload was not counted"
            time.sleep(0.05)
        assert re.search(rb'jarvis_tls_certificate_reloads_total\{outcome="loaded"\} 1\b', body)
        assert re.search(rb"jarvis_tls_certificate_not_after_seconds \d", body)
        assert handshake(instance.port, client_context(pki)) == ("TLSv1.3", "jarvis-second")
        assert instance.process.poll() is None
    finally:
        instance.stop()


def assert_start_refused(tag, env, reason):
    instance = Instance(tag, env=env, wait_ready=False)
    try:
        assert instance.process.wait(timeout=20) != 0
    finally:
        instance.stop()
    with open(instance.log.name) as log:
        assert reason in log.read()


def test_files_that_do_not_make_a_pair_stop_the_start(pki):
    first_cert, _ = pki.leaf("jarvis-mismatch-a")
    _, other_key = pki.leaf("jarvis-mismatch-b")
    assert_start_refused("tls-mismatch", {"JARVIS_TLS_CERT_FILE": first_cert, "JARVIS_TLS_KEY_FILE": other_key},
                         "does not belong to the certificate")
    assert_start_refused("tls-half", {"JARVIS_TLS_CERT_FILE": first_cert}, "JARVIS_TLS_KEY_FILE")
