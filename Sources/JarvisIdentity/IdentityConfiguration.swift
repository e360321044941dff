public import JarvisCrypto

/// Token, password and login-protection settings (README, Configuration).
public struct IdentityConfiguration: Sendable {
    public var issuer: String = "jarvis"
    public var audience: String = "jarvis"
    /// Access-token lifetime in seconds.
    public var accessTokenTTL: Double = 900
    public var refreshTokenTTL: Double = 30 * 24 * 3600
    /// Clock skew tolerated on `exp` and `nbf`, seconds.
    public var leeway: Double = 30
    /// The algorithm new signing keys use.
    public var algorithm: JWTAlgorithm = .eddsa
    public var argon2: Argon2id = .owaspMinimum
    public var hashConcurrency: Int = 2
    /// Failed logins for one account before back-off starts.
    public var maxFailures: Int = 5
    /// The first lockout; each further failure doubles it, up to `maxLockout`.
    public var lockoutSeconds: Double = 30
    public var maxLockout: Double = 900
    /// Failed logins from one address (any account) before it is locked out.
    public var maxFailuresPerAddress: Int = 50

    /// Extra time a rotated-out key verifies, covering instances that signed with it until their
    /// next key reload (every few seconds).
    public var rotationGrace: Double = 60
    /// How often each instance reloads the signing keys (seconds).
    public var keyRefresh: Double = 5

    public init() {}

    /// How long a rotated-out key must keep verifying: the longest a token it signed can live. Never
    /// less than one key reload: until theirs, other instances still sign with the old key.
    public var verifyWindow: Double { accessTokenTTL + leeway + max(rotationGrace, keyRefresh) }
}
