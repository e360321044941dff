public import Foundation
public import JarvisStore
public import Logging
internal import Synchronization
internal import Metrics
internal import JarvisCache
internal import JarvisTenancy
#if canImport(Glibc)
internal import Glibc
#endif

/// The quota half of the hot path: decisions from memory, per tenant, in a `ShardedMap`.
/// A tenant's policies and current token totals are loaded from PostgreSQL on its first check
/// (one load however many ask), policies again after the change feed says they changed, totals
/// every few seconds for all tenants active meanwhile, in one statement (so usage other instances commit is seen).
///
/// Whether a limit has room is decided against this instance's allowance of the global limit
/// (`GlobalAllowances`), so several instances together never admit more than the limit.
public final class QuotaEngine: Sendable {
    let platform: Database
    let plans: PlanQuotas
    /// Where a tenant's plan is read, for its default policies.
    let directory: Tenants
    let reservationTTL: Duration
    let refreshInterval: Duration
    /// The reservations' TTL in nanoseconds, worked out once rather than on every check.
    private let reservationNanoseconds: UInt64

    private let tenants = ShardedMap<UUID, TenantQuota>(minimumShards: 32, spread: ShardBits.uuid)
    private let loads = SingleFlight<UUID, Void>()
    /// This instance's shares of the global limits.
    public let allowances: GlobalAllowances
    /// Where limits crossing their warning share are noted.
    let warnings: QuotaWarnings?
    /// Where a tenant's hard-stop budgets are read (the billing module).
    let spendLimits: (any SpendLimitSource)?

    public init(
        platform: Database, plans: PlanQuotas = .none, reservationTTL: Duration = .seconds(900), refreshInterval: Duration = .seconds(5),
        allowanceInterval: Duration = .milliseconds(100), logger: Logger = Logger(label: "jarvis.quota"), warnings: QuotaWarnings? = nil, changes: ChangeFeed? = nil,
        spendLimits: (any SpendLimitSource)? = nil
    ) {
        self.spendLimits = spendLimits
        self.platform = platform
        directory = Tenants(platform: platform)
        self.warnings = warnings
        allowances = GlobalAllowances(platform: platform, logger: logger, interval: allowanceInterval)
        self.plans = plans
        self.reservationTTL = reservationTTL
        self.refreshInterval = refreshInterval
        reservationNanoseconds = Self.nanoseconds(reservationTTL)
        changes?.subscribe { [weak self] change in
            switch change {
            case .tenant(let id): self?.invalidate(tenantID: id)
            case .everything: self?.flush()
            }
        }
    }

    static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }

    static func unixSeconds() -> Int64 { Int64(time(nil)) }

    private static func nanoseconds(_ duration: Duration) -> UInt64 {
        UInt64(duration.components.seconds) * 1_000_000_000 + UInt64(duration.components.attoseconds / 1_000_000_000)
    }

    /// Decides `ask` for `caller`: admitted (with a reservation id when tokens were reserved) or
    /// denied with the limit that refused it. All or nothing: a denial spends nothing. From memory,
    /// except on the tenant's first check, after its policies changed, and when this instance's
    /// allowance of a limit is spent.
    public func admit(_ ask: QuotaAsk, caller: QuotaCaller) async throws -> QuotaDecision {
        var now = Self.monotonicNanoseconds()
        let unix = Self.unixSeconds()
        let day = UTCCalendar.day(unixSeconds: unix)
        var drawn: [(QuotaPolicy, Int64)] = []
        var money: [TenantQuota.MoneyDraw] = []
        var rateWarnings: [QuotaWarnings.Warning] = []
        while true {
            enum Step {
                case load, decided(QuotaDecision, released: [(GlobalAllowances.Key, Int64)])
                case draw([(QuotaPolicy, Int64)], [TenantQuota.MoneyDraw], released: [(GlobalAllowances.Key, Int64)], [QuotaWarnings.Warning])
            }
            // Changed in place: a copy would share the state's collections and copy them on change.
            let step = tenants.withExisting(caller.tenantID) { state -> Step in
                guard !state.policiesStale else { return .load }
                state.lastSeen = now
                let released = state.sweep(now: now, day: day)
                if let full = state.gaugeRefusal(ask, caller: caller) {
                    // A refused write draws nothing; released reservations still go back.
                    return .decided(.denied(QuotaDenial(
                        metric: full.metric, limit: full.limit, retryAfter: 60,
                        remaining: max(full.limit - (state.gauges[full.metric] ?? 0), 0), window: 0)), released: released)
                }
                let applicable = state.applicable(ask, caller: caller)
                let moneyDraws = state.moneyDraws(ask, caller: caller)
                if applicable.isEmpty && moneyDraws.isEmpty && ask.tokens == 0 {
                    return .decided(.admitted(reservation: nil), released: released)
                }
                // Request rates are counted here, in the same visit: a check refused further on
                // still counted towards the warning (it was asked for).
                let warnings = state.warnings(after: applicable, requests: true, tenantID: caller.tenantID, unixSeconds: unix)
                return .draw(applicable, moneyDraws, released: released, warnings)
            } ?? .load
            switch step {
            case .load:
                try await load(caller.tenantID)
                // After the read: the check counts as later than the load.
                now = Self.monotonicNanoseconds()
                continue
            case .decided(let decision, let released):
                for (key, amount) in released { allowances.giveBack(key, amount: Double(amount)) }
                return decision
            case .draw(let applicable, let moneyDraws, let released, let warnings):
                for (key, amount) in released { allowances.giveBack(key, amount: Double(amount)) }
                drawn = applicable
                money = moneyDraws
                rateWarnings = warnings
            }
            break
        }
        if let warnings { rateWarnings.forEach(warnings.note) }
        // What was taken so far: the first `policiesTaken` of `drawn` and `held`, given back if a
        // later limit refuses (kept as counts, so a check allocates no list for them).
        var policiesTaken = 0
        var moneyTaken = 0
        let month = money.isEmpty ? 0 : TenantQuota.window(.costMonthly, day: day)
        var held: [TenantQuota.MoneyHold] = []
        func giveBackTaken() {
            for (policy, amount) in drawn.prefix(policiesTaken) { allowances.giveBack(Self.key(policy, caller: caller, day: day), amount: Double(amount)) }
            for hold in held { allowances.giveBack(hold.key, amount: Double(hold.micros)) }
            for draw in money.prefix(moneyTaken) where !draw.held {
                allowances.giveBack(.init(tenantID: caller.tenantID, subject: .budget(draw.limit.budgetID), metric: .costMonthly, window: month), amount: 1)
            }
        }
        var budgets: [GlobalAllowances.Key] = []
        for (policy, amount) in drawn {
            let key = Self.key(policy, caller: caller, day: day)
            let granted: Bool
            do {
                let spec = Self.spec(policy)
                if allowances.takeHeld(key, amount: Double(amount), spec: spec, now: now) {
                    granted = true
                } else {
                    granted = try await allowances.take(key, amount: Double(amount), spec: spec, now: now)
                }
            } catch {
                giveBackTaken()
                throw error
            }
            guard granted else {
                giveBackTaken()
                return .denied(Self.denial(policy, amount: amount, unixSeconds: unix))
            }
            policiesTaken += 1
            if key.metric.isTokens { budgets.append(key) }
        }
        for draw in money {
            let key = GlobalAllowances.Key(tenantID: caller.tenantID, subject: .budget(draw.limit.budgetID), metric: .costMonthly, window: month)
            let granted: Bool
            do {
                granted = try await allowances.take(key, amount: Double(draw.micros), spec: Self.spec(draw.limit), now: now)
            } catch {
                giveBackTaken()
                throw error
            }
            guard granted else {
                giveBackTaken()
                return .denied(QuotaDenial(
                    metric: .costMonthly, limit: draw.limit.amountMicros,
                    retryAfter: TenantQuota.secondsToReset(.costMonthly, unixSeconds: unix), remaining: 0, window: 86_400 * 30))
            }
            moneyTaken += 1
            if draw.held { held.append(.init(key: key, micros: draw.micros)) }
        }
        // A check that holds no money only asked whether any was left.
        for draw in money where !draw.held {
            allowances.giveBack(.init(tenantID: caller.tenantID, subject: .budget(draw.limit.budgetID), metric: .costMonthly, window: month), amount: 1)
        }
        // A reservation only where a budget holds tokens or money back for it: with none, nothing is reserved.
        let holdsTokens = ask.tokens > 0 && !budgets.isEmpty
        guard holdsTokens || !held.isEmpty else { return .admitted(reservation: nil) }
        let id = UUIDv7.makeUnique()
        let ttl = reservationNanoseconds
        let crossed = tenants.withExisting(caller.tenantID) { state -> [QuotaWarnings.Warning] in
            state.reserve(holdsTokens ? ask.tokens : 0, caller: caller, allowances: budgets, money: held, now: now, day: day, ttl: ttl, id: id)
            return state.warnings(after: drawn, requests: false, tenantID: caller.tenantID, unixSeconds: unix)
        } ?? []
        if let warnings { crossed.forEach(warnings.note) }
        return .admitted(reservation: id)
    }

    /// The global allowance `policy` draws on for `caller` on `day`.
    static func key(_ policy: QuotaPolicy, caller: QuotaCaller, day: Int64) -> GlobalAllowances.Key {
        .init(tenantID: caller.tenantID, subject: policy.subject, metric: policy.metric, window: TenantQuota.window(policy.metric, day: day))
    }

    static func spec(_ policy: QuotaPolicy) -> GlobalAllowances.Spec {
        policy.metric == .requests
            ? .init(rate: Double(policy.limit), limit: Double(policy.capacity))
            : .init(rate: 0, limit: Double(policy.limit))
    }

    static func spec(_ limit: SpendLimit) -> GlobalAllowances.Spec { .init(rate: 0, limit: Double(limit.amountMicros)) }

    static func denial(_ policy: QuotaPolicy, amount: Int64, unixSeconds: Int64) -> QuotaDenial {
        if policy.metric == .requests {
            let wait = policy.limit > 0 && amount <= policy.capacity ? max(Int64((Double(amount) / Double(policy.limit)).rounded(.up)), 1) : 3600
            return QuotaDenial(metric: .requests, limit: policy.limit, retryAfter: wait, remaining: 0, window: 1)
        }
        return QuotaDenial(
            metric: policy.metric, limit: policy.limit, retryAfter: TenantQuota.secondsToReset(policy.metric, unixSeconds: unixSeconds),
            remaining: 0, window: policy.metric == .tokensDaily ? 86_400 : 86_400 * 30)
    }

    /// Counts a committed usage event and settles its reservation: what it reserved beyond the use
    /// goes back to the allowances, use beyond it is charged to them — tokens to the token budgets,
    /// the event's rated cost (`costMicros`, nil when unpriced) to the hard-stop budgets of the
    /// tenant and of the event's cost center. A tenant not in memory is skipped: its next load reads
    /// the event from the rollup.
    public func record(
        tenantID: UUID, principalID: UUID?, tokens: Int64, reservation: UUID?, occurredAt: Date, costMicros: Int64? = nil, costCenter: String? = nil
    ) {
        let eventDay = UTCCalendar.day(unixSeconds: Int64(occurredAt.timeIntervalSince1970.rounded(.down)))
        let now = Self.monotonicNanoseconds()
        let (settled, budgets, limits) = tenants.withExisting(tenantID) { state -> (TenantQuota.Reservation?, [QuotaPolicy], [SpendLimit]) in
            state.lastSeen = now
            let settled = state.record(tokens: tokens, principalID: principalID, reservation: reservation, eventDay: eventDay)
            let caller = QuotaCaller(tenantID: tenantID, principalID: principalID ?? UsageTotals.nobody, apiKeyID: nil)
            return (settled, state.policies.filter { $0.metric.isTokens && caller.applies($0.subject) },
                    state.spend.limits.filter { $0.applies(to: costCenter) })
        } ?? (nil, [], [])
        settleMoney(tenantID: tenantID, held: settled?.money, limits: limits, costMicros: costMicros ?? 0, eventDay: eventDay, now: now)
        // A reservation that held only money leaves the tokens to be charged as they are.
        if let settled, !settled.allowances.isEmpty {
            for key in settled.allowances {
                let difference = settled.amount - tokens
                if difference >= 0 {
                    allowances.giveBack(key, amount: Double(difference))
                } else if let policy = budgets.first(where: { $0.metric == key.metric && $0.subject == key.subject }) {
                    allowances.charge(key, amount: Double(-difference), spec: Self.spec(policy), now: now)
                }
            }
            return
        }
        // Used without a reservation here (none made, or made on another instance): charged as is.
        guard eventDay == UTCCalendar.day(unixSeconds: Self.unixSeconds()) || budgets.contains(where: { $0.metric == .tokensMonthly }) else { return }
        for policy in budgets {
            let key = GlobalAllowances.Key(tenantID: tenantID, subject: policy.subject, metric: policy.metric, window: TenantQuota.window(policy.metric, day: eventDay))
            guard key.window == TenantQuota.window(policy.metric, day: UTCCalendar.day(unixSeconds: Self.unixSeconds())) else { continue }
            allowances.charge(key, amount: Double(tokens), spec: Self.spec(policy), now: now)
        }
    }

    /// The money side of `record`: a held reservation gives back what the use did not cost or is
    /// charged what it cost beyond; use without one is charged as it is (this month's only).
    private func settleMoney(tenantID: UUID, held: [TenantQuota.MoneyHold]?, limits: [SpendLimit], costMicros: Int64, eventDay: Int64, now: UInt64) {
        if let held, !held.isEmpty {
            for hold in held {
                let difference = hold.micros - costMicros
                if difference >= 0 {
                    allowances.giveBack(hold.key, amount: Double(difference))
                } else if let limit = limits.first(where: { hold.key.subject == .budget($0.budgetID) }) {
                    allowances.charge(hold.key, amount: Double(-difference), spec: Self.spec(limit), now: now)
                }
            }
            return
        }
        let month = TenantQuota.window(.costMonthly, day: eventDay)
        guard costMicros > 0, month == TenantQuota.window(.costMonthly, day: UTCCalendar.day(unixSeconds: Self.unixSeconds())) else { return }
        for limit in limits {
            let key = GlobalAllowances.Key(tenantID: tenantID, subject: .budget(limit.budgetID), metric: .costMonthly, window: month)
            allowances.charge(key, amount: Double(costMicros), spec: Self.spec(limit), now: now)
        }
    }

    /// A storage report committed: later checks on this instance see it at once (others at their
    /// next refresh of the tenant, within `refreshInterval`).
    func setGauge(tenantID: UUID, metric: QuotaMetric, value: Int64) {
        let policies = tenants.withValue(tenantID) { slot -> [QuotaPolicy] in
            slot?.gauges[metric] = value
            return slot?.policies ?? []
        }
        guard let warnings else { return }
        for policy in policies where policy.metric == metric && value * 100 >= policy.limit * Int64(policy.warnAtPercent) && policy.limit > 0 {
            warnings.note(.init(
                tenantID: tenantID, metric: metric, subject: policy.subject, windowKey: TenantQuota.windowKey(.tokensDaily, unixSeconds: Self.unixSeconds()),
                percent: policy.warnAtPercent, used: value, limit: policy.limit))
        }
    }

    /// A tenant's policies (or plan) changed: reload them before its next decision. Counters,
    /// buckets and reservations stay.
    func invalidate(tenantID: UUID) {
        tenants.withValue(tenantID) { $0?.policiesStale = true }
    }

    /// Notifications may have been missed: every tenant reloads its policies.
    func flush() {
        tenants.modifyAll { $0.policiesStale = true }
    }

    // MARK: Memory

    /// Forgets tenants nothing has touched for `idle`: memory follows the tenants in use, not every
    /// tenant ever seen. A tenant with reservations still open, or a refresh still running, stays;
    /// a forgotten one is loaded again on its next check (policies and totals from PostgreSQL, as on
    /// a fresh instance). - Returns: how many were forgotten.
    @discardableResult
    public func evictIdle(idle: Duration) -> Int {
        let now = Self.monotonicNanoseconds()
        let limit = Self.nanoseconds(idle)
        var evicted = 0
        tenants.removeAll { _, state in
            let forgotten = now > state.lastSeen && now - state.lastSeen > limit && state.reservations.isEmpty && state.recordedDuringRefresh == nil
            if forgotten { evicted += 1 }
            return forgotten
        }
        Self.residents.record(Double(tenants.count))
        if evicted > 0 { Self.evictions.increment(by: evicted) }
        return evicted
    }

    /// Tenants in memory.
    public var tenantCount: Int { tenants.count }

    static let residents = Gauge(label: "jarvis_quota_tenants_in_memory")
    static let evictions = Counter(label: "jarvis_quota_tenants_evicted_total")

    /// Every 30 s, forgets tenants idle for `idle` (5 minutes by default).
    public func evictionService(idle: Duration = .seconds(300), logger: Logger) -> PeriodicService {
        PeriodicService("quota state eviction", every: .seconds(30), logger: logger) { self.evictIdle(idle: idle) }
    }

    // MARK: Loading

    /// Waits until the tenant is in memory with current policies.
    public func ensureLoaded(_ tenantID: UUID) async throws {
        while tenants[tenantID]?.policiesStale != false {
            try await load(tenantID)
        }
    }

    /// Loads (or reloads the policies of) one tenant, once however many wait.
    func load(_ tenantID: UUID) async throws {
        try await loads.run(tenantID) { try await self.fetchAndStore(tenantID) }
    }

    private func fetchAndStore(_ tenantID: UUID) async throws {
        // Marked before reading, so an invalidation that lands during the read marks it again.
        let isNew = tenants.withValue(tenantID) { slot -> Bool in
            slot?.policiesStale = false
            return slot == nil
        }
        let policies = try await QuotaPolicyStore.effective(platform, tenantID: tenantID, plans: plans, tenants: directory)
        let spend = try await spendLimits?.spendLimits(tenantID: tenantID) ?? TenantSpendLimits()
        let totals = isNew ? try await UsageTotals.load(platform, tenantID: tenantID, day: UTCCalendar.day(unixSeconds: Self.unixSeconds())) : nil
        let gauges = isNew ? try await StorageGauges.load(platform, tenantID: tenantID) : [:]
        tenants.withValue(tenantID) { slot in
            guard slot != nil else {
                var state = TenantQuota(policies: policies, day: totals?.day ?? UTCCalendar.day(unixSeconds: Self.unixSeconds()))
                state.spend = spend
                totals?.apply(to: &state)
                state.gauges = gauges
                state.refreshedAt = Self.monotonicNanoseconds()
                state.lastSeen = state.refreshedAt
                slot = state
                return
            }
            slot?.policies = policies
            slot?.spend = spend
        }
    }

    /// Rereads the token totals and storage gauges of every tenant checked or charged since its
    /// last read, so usage (and reports) other instances committed count here too — in one
    /// statement for each, however many tenants are active. - Returns: how many were read.
    @discardableResult
    public func refreshActive() async throws -> Int {
        var due: [UUID] = []
        tenants.forEachShard { states in
            var marked: [UUID] = []
            for (id, state) in states where state.refreshDue { marked.append(id) }
            let now = Self.monotonicNanoseconds()
            for id in marked { states[id]?.startRefresh(now: now) }
            due += marked
        }
        guard !due.isEmpty else { return 0 }
        var start = 0
        while start < due.count {
            let chunk = Array(due[start..<min(start + 5_000, due.count)])
            do {
                let day = UTCCalendar.day(unixSeconds: Self.unixSeconds())
                let totals = try await UsageTotals.load(platform, tenantIDs: chunk, day: day)
                let gauges = try await StorageGauges.load(platform, tenantIDs: chunk)
                finishRefresh(chunk, totals: totals, gauges: gauges)
            } catch {
                // The marks come off the unread ones too, so the next pass tries them again.
                finishRefresh(Array(due[start...]), totals: [:], gauges: nil)
                throw error
            }
            start += chunk.count
        }
        return due.count
    }

    private func finishRefresh(_ ids: [UUID], totals: [UUID: UsageTotals], gauges: [UUID: [QuotaMetric: Int64]]?) {
        for id in ids {
            tenants.withExisting(id) { state in
                // Gauges other instances took reports for; this instance's own are already in.
                if let gauges { state.gauges.merge(gauges[id] ?? [:]) { _, read in read } }
                let during = state.recordedDuringRefresh ?? [:]
                state.recordedDuringRefresh = nil
                // The read saw everything committed before it began; what this instance recorded
                // since may or may not be in it, so it is added again (erring towards "used").
                if let read = totals[id], read.day == state.day { read.apply(to: &state, plus: during) }
            }
        }
    }

    /// `refreshActive` every `refreshInterval` (5 s by default), as a `PeriodicService`.
    public func refreshService(logger: Logger) -> PeriodicService {
        PeriodicService("quota totals refresh", every: refreshInterval, logger: logger) { try await self.refreshActive() }
    }

    // MARK: Status

    /// Every limit that applies to the tenant (or, with `subject`, to that principal or key),
    /// with what is used, reserved and left.
    public func status(tenantID: UUID) async throws -> [QuotaStatus] {
        try await ensureLoaded(tenantID)
        let now = Self.monotonicNanoseconds()
        let unix = Self.unixSeconds()
        let day = UTCCalendar.day(unixSeconds: unix)
        let (state, released) = tenants.withExisting(tenantID) { state -> (TenantQuota?, [(GlobalAllowances.Key, Int64)]) in
            let released = state.sweep(now: now, day: day)
            return (state, released)
        } ?? (nil, [])
        for (key, amount) in released { allowances.giveBack(key, amount: Double(amount)) }
        guard let state else { return [] }
        let leases = state.policies.contains { $0.metric == .concurrentWorkflows } ? try await LeaseStore.live(platform, tenantID: tenantID) : nil
        return state.policies.map { policy in
            let held = policy.metric == .requests
                ? allowances.held(.init(tenantID: tenantID, subject: policy.subject, metric: .requests, window: 0)) : 0
            var live: Int64 = 0
            if let leases {
                switch policy.subject {
                case .tenant: live = leases.tenant
                case .principal(let id): live = leases.principals[id] ?? 0
                case .apiKey(let id): live = leases.keys[id] ?? 0
                case .budget: live = 0
                }
            }
            return QuotaStatus(policy: policy, state: state, held: held, live: live, unixSeconds: unix)
        }
    }
}

/// One limit's standing, for `GET /quotas/status`.
public struct QuotaStatus: Sendable {
    public let policy: QuotaPolicy
    public let used: Int64
    public let reserved: Int64
    public let remaining: Int64
    /// When the window restarts (budgets), or the next second (requests).
    public let resetsAt: Date

    /// - Parameters:
    ///   - held: for requests, this instance's allowance (the rate is shared by instances).
    ///   - live: for concurrency limits, the live leases the policy counts.
    init(policy: QuotaPolicy, state: TenantQuota, held: Double, live: Int64, unixSeconds: Int64) {
        self.policy = policy
        if policy.metric.isGauge {
            used = state.gauges[policy.metric] ?? 0
            reserved = 0
            remaining = max(policy.limit - used, 0)
            resetsAt = Date(timeIntervalSince1970: Double(unixSeconds))
        } else if policy.metric == .concurrentWorkflows {
            used = live
            reserved = 0
            remaining = max(policy.limit - live, 0)
            resetsAt = Date(timeIntervalSince1970: Double(unixSeconds))
        } else if policy.metric == .requests {
            used = 0
            reserved = 0
            remaining = max(Int64(held.rounded(.down)), 0)
            resetsAt = Date(timeIntervalSince1970: Double(unixSeconds + 1))
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
