public import JarvisStore
public import Logging
internal import JarvisAccess
internal import JarvisCrypto
internal import Metrics
internal import Synchronization

/// The ids of API keys issued before keys carried a tag, in memory: an untagged key whose id is
/// not among them was never issued, and is refused without a lookup.
///
/// The set only shrinks in normal operation (no untagged key is issued any more), so instances
/// agree without invalidation; it is reread every minute for keys an instance of the previous
/// version wrote during a rolling upgrade. Until the first read, untagged keys are looked up as
/// before. 8 bytes per id (64 bits of its SHA-256, sorted): a false match only costs a lookup.
public final class LegacyKeyIDs: Sendable {
    let platform: Database
    // Locking rule: the array is replaced whole under this lock; nil until the first read.
    private let ids = Mutex<[UInt64]?>(nil)
    static let size = Gauge(label: "jarvis_legacy_api_keys")

    public init(platform: Database) {
        self.platform = platform
    }

    /// Reads the ids of untagged keys again.
    public func reload() async throws {
        let rows = try await platform.query("SELECT key_id FROM api_keys WHERE NOT tagged", idempotent: true)
        var loaded = try rows.all.map { Self.digest(try $0.string("key_id")) }
        loaded.sort()
        let count = loaded.count
        ids.withLock { $0 = loaded }
        Self.size.record(Double(count))
    }

    /// false only when the set has been read and `keyID` is not in it.
    func mayExist(_ keyID: String) -> Bool {
        let digest = Self.digest(keyID)
        return ids.withLock { ids in ids?.sortedContains(digest) ?? true }
    }

    static func digest(_ keyID: String) -> UInt64 { SHA256.prefix128(keyID).0 }

    /// Rereads the set every minute.
    public func service(logger: Logger) -> PeriodicService {
        PeriodicService("legacy key ids", every: .seconds(60), logger: logger) { try await self.reload() }
    }
}
