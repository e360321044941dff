/// A token bucket: `capacity` tokens, refilled continuously at `rate` per second. Times are
/// monotonic nanoseconds supplied by the caller, so the bucket is a plain value.
public struct TokenBucket: Sendable, Equatable {
    public private(set) var rate: Double
    public private(set) var capacity: Double
    public private(set) var tokens: Double
    private var updated: UInt64

    public init(rate: Double, capacity: Double, now: UInt64) {
        self.rate = rate
        self.capacity = capacity
        tokens = capacity
        updated = now
    }

    public mutating func refill(now: UInt64) {
        guard now > updated else { return }
        tokens = min(capacity, tokens + Double(now - updated) / 1e9 * rate)
        updated = now
    }

    /// Changes the limits and keeps the tokens (capped), so editing a policy is not a free refill.
    public mutating func reconfigure(rate: Double, capacity: Double, now: UInt64) {
        refill(now: now)
        self.rate = rate
        self.capacity = capacity
        tokens = min(tokens, capacity)
    }

    /// Seconds until `amount` tokens are there (0 when they are now; infinity if never).
    public func wait(for amount: Double) -> Double {
        if tokens >= amount { return 0 }
        guard rate > 0, amount <= capacity else { return .infinity }
        return (amount - tokens) / rate
    }

    public mutating func take(_ amount: Double) { tokens -= amount }
}
