public import struct Foundation.UUID
internal import Synchronization

/// The one way caches hear that what decides an answer has changed. Every instance's NOTIFY
/// listener publishes what other instances (and this one) committed; this instance's transactions
/// publish their own changes at commit, so the committing instance never answers stale even before
/// its NOTIFY comes back. A write through the API, a write by another instance and a write by a
/// background job look alike to subscribers.
public final class ChangeFeed: Sendable {
    public enum Change: Sendable, Equatable {
        /// Something of this tenant changed (a principal, key, binding, role, policy, the tenant).
        case tenant(UUID)
        /// Anything may have changed (notifications were lost for longer than the change log keeps).
        case everything
    }

    // Locking rule: subscribers are added while the application is built and read on every change.
    private let subscribers = Mutex<[@Sendable (Change) -> Void]>([])

    /// Whether the listener has delivered without a break: since when (coarse seconds; 0 while it
    /// is disconnected) and when it last confirmed it is still caught up.
    struct Liveness {
        var since: Int64 = 0
        var confirmed: Int64 = 0
    }
    // Locking rule: read and written whole.
    private let liveness = Mutex(Liveness())
    /// A listener that has not confirmed for this long is not trusted to have delivered everything.
    static let confirmationLimit: Int64 = 5

    public init() {}

    public func subscribe(_ handler: @escaping @Sendable (Change) -> Void) {
        subscribers.withLock { $0.append(handler) }
    }

    public func publish(_ change: Change) {
        for handler in subscribers.withLock({ $0 }) { handler(change) }
    }

    /// The listener is connected and has caught up with everything committed before now.
    public func listenerCaughtUp() {
        let now = CoarseClock.seconds()
        liveness.withLock { live in
            if live.since == 0 { live.since = now }
            live.confirmed = now
        }
    }

    /// The listener lost its connection: changes may go unheard until it catches up again.
    public func listenerLost() {
        liveness.withLock { $0 = Liveness() }
    }

    /// True when every change committed since `time` (coarse seconds) has surely reached the
    /// subscribers: the listener has been caught up without a break since before it, and confirmed
    /// so recently. Caches use it to keep an entry instead of reading it again.
    public func unbroken(since time: Int64) -> Bool {
        let now = CoarseClock.seconds()
        return liveness.withLock { live in live.since != 0 && live.since < time && now - live.confirmed <= Self.confirmationLimit }
    }

    /// A NOTIFY payload: a tenant id, anything else meaning "everything".
    public func publish(payload: String) {
        publish(UUID(uuidString: payload).map(Change.tenant) ?? .everything)
    }
}
