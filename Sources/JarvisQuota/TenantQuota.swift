public import struct Foundation.UUID

/// What one check asks of the quotas.
public struct QuotaAsk: Sendable, Equatable {
    public var requests: Int64
    public var tokens: Int64
    /// What a write adds to storage gauges (checked, not reserved: the service reports the result).
    public var storage: [QuotaMetric: Int64]
    /// The use's expected cost in micro-units, reserved from hard-stop budgets (0: none given).
    public var costMicros: Int64

    public init(requests: Int64 = 0, tokens: Int64 = 0, storage: [QuotaMetric: Int64] = [:], costMicros: Int64 = 0) {
        self.requests = requests
        self.tokens = tokens
        self.storage = storage
        self.costMicros = costMicros
    }

    public var isEmpty: Bool { requests == 0 && tokens == 0 && costMicros == 0 && storage.values.allSatisfy { $0 == 0 } }
}

/// Whose quota a check draws on.
public struct QuotaCaller: Sendable {
    public let tenantID: UUID
    public let principalID: UUID
    public let apiKeyID: UUID?

    public init(tenantID: UUID, principalID: UUID, apiKeyID: UUID?) {
        self.tenantID = tenantID
        self.principalID = principalID
        self.apiKeyID = apiKeyID
    }

    func applies(_ subject: QuotaSubject) -> Bool {
        switch subject {
        case .tenant: return true
        case .principal(let id): return id == principalID
        case .apiKey(let id): return id == apiKeyID
        case .budget: return false
        }
    }
}

/// A refusal: which limit, and when to try again.
public struct QuotaDenial: Error, Sendable, Equatable {
    public let metric: QuotaMetric
    public let limit: Int64
    /// Whole seconds, at least 1.
    public let retryAfter: Int64
    /// What is left of that limit now (0 for budgets, whole tokens for buckets).
    public let remaining: Int64
    /// The policy's window in seconds (1 for requests).
    public let window: Int64

    public var reason: String { metric.denialReason }
}

public enum QuotaDecision: Sendable, Equatable {
    case admitted(reservation: UUID?)
    case denied(QuotaDenial)
}

/// One tenant's quota state in memory: its policies, token counters (for status) and open
/// reservations. Whether a limit has room is `GlobalAllowances`' answer; this holds what the
/// answer needs and what settling a reservation must give back. A value behind its shard's
/// lock; every method runs under that lock.
struct TenantQuota {
    struct CounterKey: Hashable {
        let subject: QuotaSubject
        let metric: QuotaMetric
        let window: Int64
    }

    struct Counter {
        var used: Int64 = 0
        var reserved: Int64 = 0
    }

    struct Reservation {
        /// Whose tokens it holds (its counters: tenant and principal, daily and monthly, of `day`).
        let principalID: UUID
        let day: Int64
        /// The budget allowances it drew on.
        let allowances: [GlobalAllowances.Key]
        /// Tokens held (0: it holds only money).
        let amount: Int64
        /// The hard-stop budgets' allowances it drew on, with the micro-units held of each.
        let money: [MoneyHold]
    }

    struct MoneyHold {
        let key: GlobalAllowances.Key
        let micros: Int64
    }

    /// What one check draws from a hard-stop budget: held until its use is reported, or (a check
    /// that reserves nothing) one micro-unit taken and given back at once, to ask whether any is left.
    struct MoneyDraw {
        let limit: SpendLimit
        let micros: Int64
        let held: Bool
    }

    var policies: [QuotaPolicy]
    /// The hard-stop budgets, loaded with the policies.
    var spend = TenantSpendLimits()
    var policiesStale = false
    var counters: [CounterKey: Counter] = [:]
    var reservations: [UUID: Reservation] = [:]
    /// The open reservations in expiry order.
    var expiries = ExpiryQueue()
    /// Storage gauges as last reported or read.
    var gauges: [QuotaMetric: Int64] = [:]
    /// Requests admitted here in the current second, per limited subject (for warnings).
    var requestsThisSecond: [QuotaSubject: (second: Int64, count: Int64)] = [:]
    var nextSweep: UInt64 = 0
    var day: Int64
    /// Usage this instance recorded while a refresh of the totals was running (see `QuotaEngine.refresh`).
    var recordedDuringRefresh: [CounterKey: Int64]?
    /// When the totals were last read (monotonic nanoseconds).
    var refreshedAt: UInt64 = 0
    /// When a check or a usage report last touched the tenant (monotonic nanoseconds).
    var lastSeen: UInt64 = 0

    init(policies: [QuotaPolicy], day: Int64) {
        self.policies = policies
        self.day = day
    }

    static func window(_ metric: QuotaMetric, day: Int64) -> Int64 {
        switch metric {
        case .requests, .concurrentWorkflows, .storageDocuments, .storageVectors, .storageBytes: return 0
        case .tokensDaily: return day
        case .tokensMonthly, .costMonthly: return UTCCalendar.month(day: day)
        }
    }

    /// Seconds from `unixSeconds` to the end of the window holding it.
    static func secondsToReset(_ metric: QuotaMetric, unixSeconds: Int64) -> Int64 {
        let day = UTCCalendar.day(unixSeconds: unixSeconds)
        let end = metric == .tokensDaily ? day + 1 : UTCCalendar.firstDay(month: UTCCalendar.month(day: day) + 1)
        return max(end * 86_400 - unixSeconds, 1)
    }

    /// Whether the token totals are due to be read again: checked or charged since the last read
    /// began, no read running, and a limit (or the status) that shows them.
    var refreshDue: Bool {
        recordedDuringRefresh == nil && lastSeen > refreshedAt && policies.contains(where: { $0.metric.isTokens || $0.metric.isGauge })
    }

    /// Marks a read of the totals as started.
    mutating func startRefresh(now: UInt64) {
        refreshedAt = now
        recordedDuringRefresh = [:]
    }

    /// Reservations past their time: removed, with their counters released. - Returns: what
    /// they held of each budget allowance, to give back.
    mutating func sweep(now: UInt64, day: Int64) -> [(GlobalAllowances.Key, Int64)] {
        if day != self.day {
            let month = UTCCalendar.month(day: day)
            counters = counters.filter { $0.key.window == ($0.key.metric == .tokensDaily ? day : month) }
            self.day = day
        }
        guard now >= nextSweep else { return [] }
        nextSweep = now + 1_000_000_000
        var released: [(GlobalAllowances.Key, Int64)] = []
        for id in expiries.popDue(now: now) {
            guard let reservation = reservations.removeValue(forKey: id) else { continue }
            release(reservation)
            released += reservation.allowances.map { ($0, reservation.amount) }
            released += reservation.money.map { ($0.key, $0.micros) }
        }
        return released
    }

    /// Adds `tokens` to what the counters of `principalID`'s reservations on `day` hold (the
    /// tenant's and the principal's, daily and monthly).
    private mutating func hold(_ tokens: Int64, principalID: UUID, day: Int64) {
        let month = UTCCalendar.month(day: day)
        counters[CounterKey(subject: .tenant, metric: .tokensDaily, window: day), default: Counter()].reserved += tokens
        counters[CounterKey(subject: .tenant, metric: .tokensMonthly, window: month), default: Counter()].reserved += tokens
        counters[CounterKey(subject: .principal(principalID), metric: .tokensDaily, window: day), default: Counter()].reserved += tokens
        counters[CounterKey(subject: .principal(principalID), metric: .tokensMonthly, window: month), default: Counter()].reserved += tokens
    }

    private mutating func release(_ reservation: Reservation) {
        guard reservation.amount > 0 else { return }
        hold(-reservation.amount, principalID: reservation.principalID, day: reservation.day)
    }

    /// The policies `ask` draws on for `caller`, each with the amount.
    func applicable(_ ask: QuotaAsk, caller: QuotaCaller) -> [(QuotaPolicy, Int64)] {
        policies.compactMap { policy in
            guard policy.metric.isAllowance, caller.applies(policy.subject) else { return nil }
            let amount = policy.metric == .requests ? ask.requests : ask.tokens
            return amount > 0 ? (policy, amount) : nil
        }
    }

    /// What `ask` draws from the hard-stop budgets that cover `caller` (the tenant's, and its cost center's).
    func moneyDraws(_ ask: QuotaAsk, caller: QuotaCaller) -> [MoneyDraw] {
        guard !spend.limits.isEmpty else { return [] }
        let costCenter = spend.costCenter(of: caller)
        return spend.limits.compactMap { limit in
            guard limit.applies(to: costCenter) else { return nil }
            if ask.costMicros > 0 { return MoneyDraw(limit: limit, micros: ask.costMicros, held: true) }
            if ask.tokens > 0 && limit.checkReservationMicros > 0 { return MoneyDraw(limit: limit, micros: limit.checkReservationMicros, held: true) }
            return MoneyDraw(limit: limit, micros: 1, held: false)
        }
    }

    /// The window a warning belongs to: the minute for request rates, the day or month for budgets.
    static func windowKey(_ metric: QuotaMetric, unixSeconds: Int64) -> String {
        let day = UTCCalendar.day(unixSeconds: unixSeconds)
        let date = UsageTotals.date(day)
        switch metric {
        case .requests:
            let minute = (unixSeconds - day * 86_400) / 60
            return date + "T" + (minute / 60 < 10 ? "0" : "") + String(minute / 60) + ":" + (minute % 60 < 10 ? "0" : "") + String(minute % 60)
        case .tokensMonthly, .costMonthly: return String(date.prefix(7))
        default: return date
        }
    }

    /// Limits this admission took to or past their warning share: the request rates (counted as
    /// the check is decided) or the token budgets (once its reservation is in the counters).
    mutating func warnings(after drawn: [(QuotaPolicy, Int64)], requests: Bool, tenantID: UUID, unixSeconds: Int64) -> [QuotaWarnings.Warning] {
        var crossed: [QuotaWarnings.Warning] = []
        let day = UTCCalendar.day(unixSeconds: unixSeconds)
        for (policy, amount) in drawn where policy.limit > 0 && (policy.metric == .requests) == requests {
            let used: Int64
            if policy.metric == .requests {
                var current = requestsThisSecond[policy.subject] ?? (unixSeconds, 0)
                if current.second != unixSeconds { current = (unixSeconds, 0) }
                current.count += amount
                requestsThisSecond[policy.subject] = current
                used = current.count
            } else {
                let counter = counters[CounterKey(subject: policy.subject, metric: policy.metric, window: Self.window(policy.metric, day: day))] ?? Counter()
                used = counter.used + counter.reserved
            }
            if used * 100 >= policy.limit * Int64(policy.warnAtPercent) {
                crossed.append(.init(
                    tenantID: tenantID, metric: policy.metric, subject: policy.subject,
                    windowKey: Self.windowKey(policy.metric, unixSeconds: unixSeconds), percent: policy.warnAtPercent, used: used, limit: policy.limit))
            }
        }
        return crossed
    }

    /// The first gauge limit `ask` would take past its limit, if any.
    func gaugeRefusal(_ ask: QuotaAsk, caller: QuotaCaller) -> QuotaPolicy? {
        policies.first { policy in
            guard policy.metric.isGauge, caller.applies(policy.subject), let amount = ask.storage[policy.metric], amount > 0 else { return false }
            return (gauges[policy.metric] ?? 0) + amount > policy.limit
        }
    }

    /// Records an admitted token reservation. Counted for the tenant and the principal whether or
    /// not a policy names them, so a policy added later and the status endpoint see it.
    /// `tokens` is 0 when no token budget held any (the reservation holds only money).
    mutating func reserve(
        _ tokens: Int64, caller: QuotaCaller, allowances: [GlobalAllowances.Key], money: [MoneyHold], now: UInt64, day: Int64, ttl: UInt64,
        id: UUID
    ) {
        if tokens > 0 { hold(tokens, principalID: caller.principalID, day: day) }
        reservations[id] = Reservation(principalID: caller.principalID, day: day, allowances: allowances, amount: tokens, money: money)
        expiries.append(id, expires: now + ttl)
        expiries.compact(open: reservations.count) { reservations[$0] != nil }
    }

    /// Counts used tokens (from a committed usage event) and settles its reservation, if open.
    /// - Returns: the reservation that was settled, if any.
    mutating func record(tokens: Int64, principalID: UUID?, reservation: UUID?, eventDay: Int64) -> Reservation? {
        var settled: Reservation?
        if let reservation, let open = reservations.removeValue(forKey: reservation) {
            release(open)
            settled = open
        }
        var subjects: [QuotaSubject] = [.tenant]
        if let principalID { subjects.append(.principal(principalID)) }
        for subject in subjects {
            for metric in [QuotaMetric.tokensDaily, .tokensMonthly] {
                let key = CounterKey(subject: subject, metric: metric, window: Self.window(metric, day: eventDay))
                // Only current windows matter; an event from an ended day changes nothing enforced.
                guard key.window == Self.window(metric, day: day) else { continue }
                counters[key, default: Counter()].used += tokens
                recordedDuringRefresh?[key, default: 0] += tokens
            }
        }
        return settled
    }
}
