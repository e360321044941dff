internal import JarvisConfiguration
internal import Logging
internal import ServiceLifecycle
internal import UnixSignals

/// Reloads the listener's certificate on SIGHUP (what `systemctl reload`, cert-manager hooks and
/// `certbot --deploy-hook` send), logging what happened; a refused reload keeps the old pair.
struct CertificateReload: Service {
    let certificate: ServerCertificate
    let logger: Logger

    func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        for await _ in signals.cancelOnGracefulShutdown() {
            do {
                try certificate.reload()
                logger.notice("TLS certificate reloaded", metadata: ["file": "\(certificate.files.certificateFile)"])
            } catch {
                logger.error("TLS certificate reload refused; the previous one stays in use", metadata: ["error": "\(error)"])
            }
        }
    }
}
