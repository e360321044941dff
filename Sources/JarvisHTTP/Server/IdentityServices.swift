internal import Foundation
internal import JarvisAudit
internal import JarvisIdentity
internal import JarvisStore

/// The identity side of the application: tokens, passwords, logins.
struct IdentityServices: Sendable {
    let configuration: IdentityConfiguration
    let keys: SigningKeyStore
    let ring: SigningKeyRing
    let issuer: TokenIssuer
    let hasher: PasswordHasher
    let passwords: PasswordStore
    let login: LoginService
    let clientCredentials: ClientCredentials
    let events: SecurityEventWriter
}
