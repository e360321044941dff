public import Foundation
public import JarvisStore
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// The quota half of the hot path: decisions from memory, per tenant, behind sharded locks.
/// A tenant's policies and current token totals are loaded from PostgreSQL on its first check
/// (one load however many ask), policies again after an invalidation, totals every few seconds
/// while the tenant is active (so usage other instances commit is seen).
///
/// One instance's limits are exact. Several instances each enforce the whole limit against the
/// totals they last read, so between refreshes they may together admit more (the global
/// bucket of the design is not built yet).
public final class QuotaEngine: Sendable {
    let platform: Database
    let plans: PlanQuotas
    let reservationTTL: Duration
    let refreshInterval: Duration

    final class Shard: Sendable {
        struct State {
            var tenants: [UUID: TenantQuota] = [:]
            var loading: [UUID: Task<Void, any Error>] = [:]
            var refreshed: [UUID: UInt64] = [:]
        }
        // Locking rule: a tenant's state and its load in flight change together.
        let state = Mutex(State())
    }

    private let shards: [Shard]

    public init(platform: Database, plans: PlanQuotas = .none, reservationTTL: Duration = .seconds(900), refreshInterval: Duration = .seconds(5)) {
        self.platform = platform
        self.plans = plans
        self.reservationTTL = reservationTTL
        self.refreshInterval = refreshInterval
        shards = (0..<32).map { _ in Shard() }
    }

    private func shard(_ tenantID: UUID) -> Shard { shards[abs(tenantID.hashValue) % shards.count] }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    static func unixSeconds() -> Int64 { Int64(Date().timeIntervalSince1970) }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(duration.components.seconds) * 1_000_000_000 + UInt64(duration.components.attoseconds / 1_000_000_000)
    }

    /// Decides `ask` for `caller`: admitted (with a reservation id when tokens were reserved) or
    /// denied with the limit that refused it. PostgreSQL only on the tenant's first check or
    /// after its policies changed.
    public func admit(_ ask: QuotaAsk, caller: QuotaCaller) async throws -> QuotaDecision {
        let shard = shard(caller.tenantID)
        let ttl = Self.nanoseconds(reservationTTL)
        while true {
            let now = Self.monotonicNanoseconds()
            let unix = Self.unixSeconds()
            let decided = shard.state.withLock { s -> QuotaDecision? in
                guard s.tenants[caller.tenantID]?.policiesStale == false else { return nil }
                // Nothing limits this tenant and nothing is asked that needs counting.
                if ask.tokens == 0, s.tenants[caller.tenantID]!.policies.isEmpty { return .admitted(reservation: nil) }
                return s.tenants[caller.tenantID]!.admit(
                    ask, caller: caller, now: now, unixSeconds: unix, reservationTTL: ttl, makeID: { UUIDv7.make() })
            }
            if let decided {
                refreshIfDue(caller.tenantID, now: now)
                return decided
            }
            try await load(caller.tenantID)
        }
    }

    /// Counts a committed usage event and settles its reservation. A tenant not in memory is
    /// skipped: its next load reads the event from the rollup.
    public func record(tenantID: UUID, principalID: UUID?, tokens: Int64, reservation: UUID?, occurredAt: Date) {
        let eventDay = UTCCalendar.day(unixSeconds: Int64(occurredAt.timeIntervalSince1970.rounded(.down)))
        shard(tenantID).state.withLock { s in
            s.tenants[tenantID]?.record(tokens: tokens, principalID: principalID, reservation: reservation, eventDay: eventDay)
        }
    }

    /// A tenant's policies (or plan) changed: reload them before its next decision. Counters,
    /// buckets and reservations stay.
    public func invalidate(tenantID: UUID) {
        shard(tenantID).state.withLock { s in s.tenants[tenantID]?.policiesStale = true }
    }

    /// Notifications may have been missed: every tenant reloads its policies.
    public func flush() {
        for shard in shards {
            shard.state.withLock { s in
                for id in s.tenants.keys { s.tenants[id]?.policiesStale = true }
            }
        }
    }

    // MARK: Loading

    /// Waits until the tenant is in memory with current policies.
    public func ensureLoaded(_ tenantID: UUID) async throws {
        while shard(tenantID).state.withLock({ $0.tenants[tenantID]?.policiesStale != false }) {
            try await load(tenantID)
        }
    }

    /// Loads (or reloads the policies of) one tenant, once however many wait.
    func load(_ tenantID: UUID) async throws {
        let shard = shard(tenantID)
        let task = shard.state.withLock { s -> Task<Void, any Error> in
            if let running = s.loading[tenantID] { return running }
            let task = Task { try await self.fetchAndStore(tenantID) }
            s.loading[tenantID] = task
            return task
        }
        defer { shard.state.withLock { s in if s.loading[tenantID] == task { s.loading[tenantID] = nil } } }
        try await task.value
    }

    private func fetchAndStore(_ tenantID: UUID) async throws {
        let shard = shard(tenantID)
        // Marked before reading, so an invalidation that lands during the read marks it again.
        let isNew = shard.state.withLock { s -> Bool in
            s.tenants[tenantID]?.policiesStale = false
            return s.tenants[tenantID] == nil
        }
        let policies = try await QuotaPolicyStore.effective(platform, tenantID: tenantID, plans: plans)
        let totals = isNew ? try await UsageTotals.load(platform, tenantID: tenantID, day: UTCCalendar.day(unixSeconds: Self.unixSeconds())) : nil
        shard.state.withLock { s in
            if s.tenants[tenantID] == nil {
                var state = TenantQuota(policies: policies, day: totals?.day ?? UTCCalendar.day(unixSeconds: Self.unixSeconds()))
                totals?.apply(to: &state)
                s.tenants[tenantID] = state
                s.refreshed[tenantID] = Self.monotonicNanoseconds()
            } else {
                s.tenants[tenantID]!.policies = policies
            }
        }
    }

    /// Rereads an active tenant's token totals in the background every `refreshInterval`, so
    /// usage committed by other instances counts here too.
    private func refreshIfDue(_ tenantID: UUID, now: UInt64) {
        let interval = Self.nanoseconds(refreshInterval)
        let shard = shard(tenantID)
        let due = shard.state.withLock { s -> Bool in
            guard let last = s.refreshed[tenantID], now - last >= interval, s.tenants[tenantID]?.recordedDuringRefresh == nil else { return false }
            s.refreshed[tenantID] = now
            s.tenants[tenantID]?.recordedDuringRefresh = [:]
            return true
        }
        guard due else { return }
        Task {
            let totals = try? await UsageTotals.load(platform, tenantID: tenantID, day: UTCCalendar.day(unixSeconds: Self.unixSeconds()))
            shard.state.withLock { s in
                guard var state = s.tenants[tenantID] else { return }
                let during = state.recordedDuringRefresh ?? [:]
                state.recordedDuringRefresh = nil
                // The read saw everything committed before it began; what this instance recorded
                // since may or may not be in it, so it is added again (erring towards "used").
                if let totals, totals.day == state.day { totals.apply(to: &state, plus: during) }
                s.tenants[tenantID] = state
            }
        }
    }

    // MARK: Status

    /// Every limit that applies to the tenant (or, with `subject`, to that principal or key),
    /// with what is used, reserved and left.
    public func status(tenantID: UUID) async throws -> [QuotaStatus] {
        try await ensureLoaded(tenantID)
        let now = Self.monotonicNanoseconds()
        let unix = Self.unixSeconds()
        return shard(tenantID).state.withLock { s -> [QuotaStatus] in
            guard var state = s.tenants[tenantID] else { return [] }
            state.sweep(now: now, day: UTCCalendar.day(unixSeconds: unix))
            s.tenants[tenantID] = state
            return state.policies.map { policy in QuotaStatus(policy: policy, state: state, now: now, unixSeconds: unix) }
        }
    }
}

/// One limit's standing, for `GET /quotas/status`.
public struct QuotaStatus: Sendable {
    public let policy: QuotaPolicy
    public let used: Int64
    public let reserved: Int64
    public let remaining: Int64
    /// When the window restarts (budgets), or when the bucket is full again (requests).
    public let resetsAt: Date

    init(policy: QuotaPolicy, state: TenantQuota, now: UInt64, unixSeconds: Int64) {
        self.policy = policy
        if policy.metric == .requests {
            var bucket = state.buckets[policy.subject] ?? TokenBucket(rate: Double(policy.limit), capacity: Double(policy.capacity), now: now)
            bucket.refill(now: now)
            let tokens = max(Int64(bucket.tokens.rounded(.down)), 0)
            used = policy.capacity - tokens
            reserved = 0
            remaining = tokens
            let toFull = policy.limit > 0 ? Double(policy.capacity) - bucket.tokens : 0
            resetsAt = Date(timeIntervalSince1970: Double(unixSeconds) + max(toFull / Double(max(policy.limit, 1)), 0))
        } else {
            let day = UTCCalendar.day(unixSeconds: unixSeconds)
            let counter = state.counters[.init(subject: policy.subject, metric: policy.metric, window: TenantQuota.window(policy.metric, day: day))]
                ?? TenantQuota.Counter()
            used = counter.used
            reserved = counter.reserved
            remaining = max(policy.limit - counter.used - counter.reserved, 0)
            resetsAt = Date(timeIntervalSince1970: Double(unixSeconds + TenantQuota.secondsToReset(policy.metric, unixSeconds: unixSeconds)))
        }
    }
}
