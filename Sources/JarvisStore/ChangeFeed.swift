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

    public init() {}

    public func subscribe(_ handler: @escaping @Sendable (Change) -> Void) {
        subscribers.withLock { $0.append(handler) }
    }

    public func publish(_ change: Change) {
        for handler in subscribers.withLock({ $0 }) { handler(change) }
    }

    /// A NOTIFY payload: a tenant id, anything else meaning "everything".
    public func publish(payload: String) {
        publish(UUID(uuidString: payload).map(Change.tenant) ?? .everything)
    }
}
