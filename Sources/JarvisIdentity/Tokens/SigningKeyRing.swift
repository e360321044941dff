public import Foundation
public import Logging
public import JarvisStore
internal import Synchronization

/// The keys this instance signs and verifies with, reloaded from PostgreSQL every few seconds and
/// whenever a token names a key it has not seen, so a rotation on any instance reaches all of them
/// without a restart.
public final class SigningKeyRing: Sendable {
    let store: SigningKeyStore
    let logger: Logger
    let refreshInterval: Duration
    // Locking rule: keys and the last reload time change together under this lock.
    private let state = Mutex<(keys: [String: SigningKey], active: SigningKey?, lastReload: ContinuousClock.Instant?)>(([:], nil, nil))

    public init(store: SigningKeyStore, refreshInterval: Duration = .seconds(5), logger: Logger) {
        self.store = store
        self.refreshInterval = refreshInterval
        self.logger = logger
    }

    /// Reads the usable keys from the database.
    public func reload() async throws {
        let keys = try await store.loadUsable()
        state.withLock { s in
            s.keys = Dictionary(uniqueKeysWithValues: keys.map { ($0.kid, $0) })
            s.active = keys.first { $0.status == .active }
            s.lastReload = .now
        }
    }

    /// The key that signs new tokens.
    func activeKey() async throws -> SigningKey {
        if let key = state.withLock({ $0.active }) { return key }
        try await reload()
        guard let key = state.withLock({ $0.active }) else { throw TokenError.unknownKey }
        return key
    }

    /// The key named `kid`; an unknown kid triggers at most one reload per second.
    func key(_ kid: String) async throws -> SigningKey? {
        let (key, last) = state.withLock { ($0.keys[kid], $0.lastReload) }
        if let key { return key }
        if let last, ContinuousClock.now - last < .seconds(1) { return nil }
        try await reload()
        return state.withLock { $0.keys[kid] }
    }

    /// Public keys for the JWKS: Ed25519 keys that still verify.
    public func publishedKeys(now: Date = Date()) -> [SigningKey] {
        state.withLock { s in
            s.keys.values.filter { $0.algorithm == .eddsa && $0.verifies(at: now) }.sorted { $0.createdAt > $1.createdAt }
        }
    }

    /// Reloads every `refreshInterval`.
    public var service: PeriodicService {
        PeriodicService("signing-keys", every: refreshInterval, logger: logger) { try await self.reload() }
    }
}
