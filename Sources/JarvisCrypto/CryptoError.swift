/// Failures of the C crypto libraries, carrying the library's own message.
public enum CryptoError: Error, Equatable, Sendable {
    case openSSL(String)
    case argon2(String)
    case invalidEncoding
}
