"""Extra `jarvis serve` processes for the HTTP checks, started from the same binary and environment
as the main test server, and a TCP proxy that can stand between one of them and PostgreSQL to
freeze or cut the database for that instance alone."""
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from urllib.parse import urlsplit, urlunsplit

import requests


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Instance:
    def __init__(self, tag, env=None, wait_ready=True, ready_seconds=15):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready_seconds = ready_seconds
        # As the main test server: any instance may be the one that delivers a webhook to a
        # receiver the test runs on loopback.
        environment = dict(os.environ, JARVIS_PORT=str(self.port), LOG_LEVEL="warning", JARVIS_WEBHOOK_ALLOW_LOOPBACK="1")
        environment.update(env or {})
        self.log = open(os.path.join(os.path.dirname(os.environ["JARVIS_SERVER_LOG"]), f"instance-{tag}-{self.port}.log"), "w")
        self.process = subprocess.Popen([os.environ["JARVIS_BIN"], "serve"], env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        if wait_ready:
            self.wait_ready(tag)

    def wait_ready(self, tag="instance"):
        deadline = time.monotonic() + self.ready_seconds
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            assert self.process.poll() is None, f"instance {tag} exited"
            time.sleep(0.05)
        raise AssertionError(f"instance {tag} not ready after {self.ready_seconds} s")

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


class DatabaseProxy:
    """Forwards TCP to PostgreSQL. `freeze()` stops passing bytes either way (a hung server: connects
    succeed, nothing answers); `cut()` closes every connection and refuses new ones (the server is
    down); `restore()` goes back to forwarding."""

    def __init__(self, target_url):
        parts = urlsplit(target_url)
        self.target = (parts.hostname, parts.port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.mode = "open"
        self.lock = threading.Lock()
        self.pairs = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, target_url):
        """`target_url` with host and port replaced by the proxy's."""
        parts = urlsplit(target_url)
        netloc = parts.netloc.rsplit("@", 1)
        host = f"127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "down":
                client.close()
                continue
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, server))
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()

    def _pump(self, client, server):
        sockets = [client, server]
        try:
            while not self.closed:
                if self.mode == "frozen":
                    time.sleep(0.02)
                    continue
                if self.mode == "down":
                    break
                readable, _, _ = select.select(sockets, [], [], 0.05)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (server if s is client else client).sendall(data)
        except OSError:
            pass
        finally:
            for s in sockets:
                try:
                    s.close()
                except OSError:
                    pass

    def freeze(self):
        self.mode = "frozen"

    def cut(self):
        self.mode = "down"
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for client, server in pairs:
            for s in (client, server):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def restore(self):
        self.mode = "open"

    def close(self):
        self.closed = True
        self.cut()
        self.listener.close()


def proxied_instance(tag, proxy, env=None):
    """An instance whose two database roles reach PostgreSQL through `proxy`."""
    environment = {
        "JARVIS_DATABASE_URL": proxy.url(os.environ["JARVIS_DATABASE_URL"]),
        "JARVIS_PLATFORM_DATABASE_URL": proxy.url(os.environ["JARVIS_PLATFORM_DATABASE_URL"]),
    }
    environment.update(env or {})
    return Instance(tag, environment)


def seeded_tenant(base_url, admin, role="viewer"):
    slug = f"multi-{uuid.uuid4().hex[:12]}"
    tenant = admin.post(f"{base_url}/v1/tenants", json={"slug": slug, "name": slug}).json()
    account = admin.post(f"{base_url}/v1/tenants/{slug}/service-accounts", json={"name": "svc"}).json()
    admin.post(f"{base_url}/v1/tenants/{slug}/role-bindings", json={"principal_id": account["id"], "role": role}).raise_for_status()
    key = admin.post(f"{base_url}/v1/tenants/{slug}/api-keys", json={"principal_id": account["id"], "name": "k"}).json()
    return slug, tenant["id"], account["id"], key["id"], key["key"]


class Nginx:
    """Debian's nginx in the foreground with a configuration of its own: `http_body` is what goes
    inside `http { }` after the temp paths; `listen` on `port` there."""

    def __init__(self, http_body, port):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        assert os.path.exists(nginx), "nginx is not installed (make test installs it)"
        self.prefix = tempfile.mkdtemp(prefix="jarvis-nginx-")
        self.url = f"http://127.0.0.1:{port}"
        prefix = self.prefix
        with open(f"{prefix}/nginx.conf", "w") as f:
            f.write(f"""
daemon off;
master_process off;
worker_processes 1;
error_log {prefix}/error.log warn;
pid {prefix}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
{http_body}
}}
""")
        self.process = subprocess.Popen([nginx, "-p", prefix, "-c", f"{prefix}/nginx.conf"], stderr=subprocess.PIPE)
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)

    def stop(self):
        self.process.send_signal(signal.SIGQUIT)
        self.process.wait(timeout=10)
        shutil.rmtree(self.prefix, ignore_errors=True)
