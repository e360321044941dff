public import struct Foundation.UUID

/// What one check asks of the quotas.
public struct QuotaAsk: Sendable, Equatable {
    public var requests: Int64
    public var tokens: Int64

    public init(requests: Int64 = 0, tokens: Int64 = 0) {
        self.requests = requests
        self.tokens = tokens
    }
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
        }
    }
}

/// A refusal: which limit, and when to try again.
public struct QuotaDenial: Sendable, Equatable {
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

/// One tenant's quota state in memory: its policies, request buckets, token counters and open
/// reservations. A value behind its shard's lock; every method runs under that lock.
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
        let keys: [CounterKey]
        let amount: Int64
        let expires: UInt64
    }

    var policies: [QuotaPolicy]
    var policiesStale = false
    var buckets: [QuotaSubject: TokenBucket] = [:]
    var counters: [CounterKey: Counter] = [:]
    var reservations: [UUID: Reservation] = [:]
    var nextSweep: UInt64 = 0
    var day: Int64
    /// Usage this instance recorded while a refresh of the totals was running (see `QuotaEngine.refresh`).
    var recordedDuringRefresh: [CounterKey: Int64]?

    init(policies: [QuotaPolicy], day: Int64) {
        self.policies = policies
        self.day = day
    }

    static func window(_ metric: QuotaMetric, day: Int64) -> Int64 {
        metric == .tokensDaily ? day : UTCCalendar.month(day: day)
    }

    /// Seconds from `unixSeconds` to the end of the window holding it.
    static func secondsToReset(_ metric: QuotaMetric, unixSeconds: Int64) -> Int64 {
        let day = UTCCalendar.day(unixSeconds: unixSeconds)
        let end = metric == .tokensDaily ? day + 1 : UTCCalendar.firstDay(month: UTCCalendar.month(day: day) + 1)
        return max(end * 86_400 - unixSeconds, 1)
    }

    /// Releases reservations past their time and forgets counters of ended days and months.
    mutating func sweep(now: UInt64, day: Int64) {
        if day != self.day {
            let month = UTCCalendar.month(day: day)
            counters = counters.filter { $0.key.window == ($0.key.metric == .tokensDaily ? day : month) }
            self.day = day
        }
        guard now >= nextSweep else { return }
        nextSweep = now + 1_000_000_000
        for (id, reservation) in reservations where reservation.expires <= now {
            release(reservation)
            reservations[id] = nil
        }
    }

    private mutating func release(_ reservation: Reservation) {
        for key in reservation.keys { counters[key, default: Counter()].reserved -= reservation.amount }
    }

    /// Decides `ask` for `caller` and, when admitted, takes the requests and reserves the tokens.
    /// All or nothing: a denial consumes nothing.
    mutating func admit(
        _ ask: QuotaAsk, caller: QuotaCaller, now: UInt64, unixSeconds: Int64, reservationTTL: UInt64, makeID: () -> UUID
    ) -> QuotaDecision {
        let day = UTCCalendar.day(unixSeconds: unixSeconds)
        sweep(now: now, day: day)
        var worst: QuotaDenial?
        func consider(_ denial: QuotaDenial) {
            if worst == nil || denial.retryAfter > worst!.retryAfter { worst = denial }
        }
        var takes: [QuotaSubject] = []
        for policy in policies where caller.applies(policy.subject) {
            if policy.metric == .requests {
                guard ask.requests > 0 else { continue }
                var bucket = buckets[policy.subject] ?? TokenBucket(rate: Double(policy.limit), capacity: Double(policy.capacity), now: now)
                if bucket.rate != Double(policy.limit) || bucket.capacity != Double(policy.capacity) {
                    bucket.reconfigure(rate: Double(policy.limit), capacity: Double(policy.capacity), now: now)
                }
                bucket.refill(now: now)
                buckets[policy.subject] = bucket
                let wait = bucket.wait(for: Double(ask.requests))
                if wait > 0 {
                    consider(QuotaDenial(
                        metric: .requests, limit: policy.limit, retryAfter: wait.isFinite ? max(Int64(wait.rounded(.up)), 1) : 3600,
                        remaining: max(Int64(bucket.tokens), 0), window: 1))
                } else {
                    takes.append(policy.subject)
                }
            } else {
                guard ask.tokens > 0 else { continue }
                let counter = counters[CounterKey(subject: policy.subject, metric: policy.metric, window: Self.window(policy.metric, day: day))] ?? Counter()
                if counter.used + counter.reserved + ask.tokens > policy.limit {
                    let reset = Self.secondsToReset(policy.metric, unixSeconds: unixSeconds)
                    consider(QuotaDenial(
                        metric: policy.metric, limit: policy.limit, retryAfter: reset,
                        remaining: max(policy.limit - counter.used - counter.reserved, 0),
                        window: policy.metric == .tokensDaily ? 86_400 : 86_400 * 30))
                }
            }
        }
        if let worst { return .denied(worst) }
        for subject in takes { buckets[subject]?.take(Double(ask.requests)) }
        guard ask.tokens > 0 else { return .admitted(reservation: nil) }
        // Counted for the tenant and the principal whether or not a policy names them, so a
        // policy added later and the status endpoint see what is already reserved. (Token
        // budgets per API key are refused by the API: usage events do not name the key.)
        var keys: [CounterKey] = []
        for subject in [QuotaSubject.tenant, .principal(caller.principalID)] {
            for metric in [QuotaMetric.tokensDaily, .tokensMonthly] {
                keys.append(CounterKey(subject: subject, metric: metric, window: Self.window(metric, day: day)))
            }
        }
        for key in keys { counters[key, default: Counter()].reserved += ask.tokens }
        let id = makeID()
        reservations[id] = Reservation(keys: keys, amount: ask.tokens, expires: now + reservationTTL)
        return .admitted(reservation: id)
    }

    /// Counts used tokens (from a committed usage event) and settles its reservation, if open.
    mutating func record(tokens: Int64, principalID: UUID?, reservation: UUID?, eventDay: Int64) {
        if let reservation, let open = reservations.removeValue(forKey: reservation) { release(open) }
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
    }
}
