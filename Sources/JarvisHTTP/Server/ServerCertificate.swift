internal import Foundation
internal import JarvisConfiguration
internal import Logging
internal import Metrics
internal import NIOCore
internal import NIOSSL
internal import Synchronization

/// The listener's certificate and key, replaceable while the server runs.
///
/// Every TLS handshake asks for the current pair (NIOSSL's context callback), so a reload — on
/// SIGHUP, after a renewal wrote new files — applies to the next connection without a restart,
/// and connections already open keep theirs. Files that do not load (half written, a key that
/// does not match) are refused and the pair in use stays.
final class ServerCertificate: Sendable {
    struct Pair {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
    }

    let files: ListenerTLS
    // Locking rule: the pair is swapped whole under this lock.
    private let current: Mutex<Pair>
    static let reloads = (
        loaded: Counter(label: "jarvis_tls_certificate_reloads_total", dimensions: [("outcome", "loaded")]),
        refused: Counter(label: "jarvis_tls_certificate_reloads_total", dimensions: [("outcome", "refused")])
    )
    /// When the leaf in use stops being valid (Unix seconds), for an alert before it does.
    static let expiry = Gauge(label: "jarvis_tls_certificate_not_after_seconds")

    init(files: ListenerTLS) throws {
        self.files = files
        let pair = try Self.load(files)
        current = Mutex(pair)
        Self.note(pair)
    }

    var pair: Pair { current.withLock { $0 } }

    /// Reads the files again and uses them from the next handshake on; throws (keeping the pair in
    /// use) when they do not make a usable pair.
    func reload() throws {
        do {
            let pair = try Self.load(files)
            current.withLock { $0 = pair }
            Self.note(pair)
            Self.reloads.loaded.increment()
        } catch {
            Self.reloads.refused.increment()
            throw error
        }
    }

    /// TLS 1.3 only, with the current pair chosen at each handshake.
    func serverConfiguration() -> TLSConfiguration {
        let pair = self.pair
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: pair.chain.map { .certificate($0) }, privateKey: .privateKey(pair.key))
        configuration.minimumTLSVersion = .tlsv13
        configuration.applicationProtocols = ["http/1.1"]
        configuration.sslContextCallback = { [self] _, promise in
            let pair = self.pair
            var override = NIOSSLContextConfigurationOverride()
            override.certificateChain = pair.chain.map { .certificate($0) }
            override.privateKey = .privateKey(pair.key)
            promise.succeed(override)
        }
        return configuration
    }

    private static func load(_ files: ListenerTLS) throws -> Pair {
        let chain: [NIOSSLCertificate]
        do {
            chain = try NIOSSLCertificate.fromPEMFile(files.certificateFile)
        } catch {
            throw TLSFileError("JARVIS_TLS_CERT_FILE \(files.certificateFile): not a readable PEM certificate chain (\(error))")
        }
        guard let leaf = chain.first else { throw TLSFileError("JARVIS_TLS_CERT_FILE \(files.certificateFile) holds no certificate") }
        let key: NIOSSLPrivateKey
        do {
            key = try NIOSSLPrivateKey(file: files.keyFile, format: .pem)
        } catch {
            throw TLSFileError("JARVIS_TLS_KEY_FILE \(files.keyFile): not a readable PEM private key (\(error))")
        }
        // A context built from the pair checks that the key belongs to the leaf.
        var check = TLSConfiguration.makeServerConfiguration(certificateChain: [.certificate(leaf)], privateKey: .privateKey(key))
        check.minimumTLSVersion = .tlsv13
        do {
            _ = try NIOSSLContext(configuration: check)
        } catch {
            throw TLSFileError(
                "JARVIS_TLS_KEY_FILE \(files.keyFile) does not belong to the certificate in JARVIS_TLS_CERT_FILE \(files.certificateFile) (\(error))")
        }
        return Pair(chain: chain, key: key)
    }

    private static func note(_ pair: Pair) {
        if let leaf = pair.chain.first { expiry.record(Double(leaf.notValidAfter)) }
    }
}

struct TLSFileError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
