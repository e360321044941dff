/// TLS on the server's own listener, for deployments without a terminating balancer: PEM files,
/// read at start and again on SIGHUP (a renewed certificate needs no restart).
public struct ListenerTLS: Sendable, Equatable {
    /// The certificate chain, leaf first (`JARVIS_TLS_CERT_FILE`).
    public var certificateFile: String
    /// Its private key (`JARVIS_TLS_KEY_FILE`).
    public var keyFile: String

    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}
