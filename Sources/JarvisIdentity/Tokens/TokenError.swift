/// Why a JWT was refused. All map to 401 `invalid-credential` / `credential-expired`.
public enum TokenError: Error, Sendable, Equatable {
    case malformed(String)
    case unsupportedAlgorithm(String)
    case unknownKey
    case badSignature
    case expired
    case notYetValid
    case wrongIssuer
    case wrongAudience
}
