public import Foundation
internal import Synchronization

/// Failed logins per client address, in memory: an address that fails against many accounts is
/// locked out for a while. Per-account counting lives in PostgreSQL (`login_failures`).
public final class AddressThrottle: Sendable {
    let maxFailures: Int
    let window: TimeInterval
    let lockout: TimeInterval
    let capacity: Int
    // Locking rule: the table is read and written only under this lock.
    private let entries = Mutex<[String: (failures: Int, windowStart: Date, lockedUntil: Date?)]>([:])

    public init(maxFailures: Int, window: TimeInterval = 600, lockout: TimeInterval = 900, capacity: Int = 100_000) {
        self.maxFailures = maxFailures
        self.window = window
        self.lockout = lockout
        self.capacity = capacity
    }

    /// Seconds until `address` may try again, or nil when it may now.
    public func retryAfter(_ address: String?, now: Date = Date()) -> Int? {
        guard let address, let until = entries.withLock({ $0[address]?.lockedUntil }), until > now else { return nil }
        return Int(until.timeIntervalSince(now).rounded(.up))
    }

    /// Counts a failure. - Returns: true when this failure locked the address.
    @discardableResult
    public func fail(_ address: String?, now: Date = Date()) -> Bool {
        guard let address else { return false }
        return entries.withLock { table in
            if table.count >= capacity { table = table.filter { now.timeIntervalSince($0.value.windowStart) < window } }
            var entry = table[address] ?? (0, now, nil)
            if now.timeIntervalSince(entry.windowStart) >= window { entry = (0, now, nil) }
            entry.failures += 1
            var locked = false
            if entry.failures >= maxFailures, entry.lockedUntil.map({ $0 <= now }) ?? true {
                entry.lockedUntil = now.addingTimeInterval(lockout)
                locked = true
            }
            table[address] = entry
            return locked
        }
    }

    public func succeed(_ address: String?) {
        guard let address else { return }
        _ = entries.withLock { $0.removeValue(forKey: address) }
    }
}
