internal import Foundation
public import JarvisStore
public import Logging
internal import JarvisCache
internal import Metrics

/// This instance's share of each global limit (`quota_allowances`). A check spends from the
/// local allowance in memory; when it runs dry the instance takes more from PostgreSQL (one
/// take at a time per limit), and every `interval` a background pass gives back what it holds
/// beyond its recent need and tops up what it is short of — one statement for all active limits.
///
/// So instances together never admit more than the limit (requests: the bucket's refill;
/// budgets: the window's total), and a check waits for the database only when its allowance is
/// spent. Without the database an instance spends what it holds, then refuses (fails closed).
public final class GlobalAllowances: Sendable {
    struct Key: Hashable, Sendable {
        let tenantID: UUID
        let subject: QuotaSubject
        let metric: QuotaMetric
        let window: Int64

        /// The order rows are locked in: any total order works, as long as every instance uses it.
        static func lockOrder(_ a: Key, _ b: Key) -> Bool {
            if a.tenantID != b.tenantID { return a.tenantID.orderKey < b.tenantID.orderKey }
            if a.subject.kind != b.subject.kind { return a.subject.kind.rawValue < b.subject.kind.rawValue }
            if a.subject.id != b.subject.id { return (a.subject.id?.orderKey ?? (0, 0)) < (b.subject.id?.orderKey ?? (0, 0)) }
            if a.metric != b.metric { return a.metric.rawValue < b.metric.rawValue }
            return a.window < b.window
        }
    }

    /// What the global row needs to know of the policy: the bucket's rate and size, or the budget.
    struct Spec: Sendable, Equatable {
        var rate: Double
        var limit: Double
    }

    struct Local {
        var spec: Spec
        var tokens: Double = 0
        var spentSinceTick: Double = 0
        var want: Double
        var lastUsed: UInt64
        /// No more to take until then (the global limit was reached).
        var dryUntil: UInt64 = 0
        /// When a take last came back short: a request rate that ran dry this recently is
        /// contended, and is topped up by the background pass only (see `take`).
        var lastDry: UInt64 = 0
        /// A surplus the background pass is giving back to the global row right now: until that
        /// lands there, a take may find the row short by it, which is no reason to call the limit dry.
        var returning: Double = 0
        /// Held beyond a changed policy's need: goes back at the next pass.
        var pendingReturn: Double = 0

        /// The policy changed: hold no more than the new need — a lowered limit must not be
        /// outspent by what was taken under the old one. A budget's excess goes back at the next
        /// pass (the row counts it as handed out); a request rate's is dropped (its bucket refills
        /// by itself, and would only be filled to its new burst at once).
        mutating func adopt(_ spec: Spec, want newWant: Double, metric: QuotaMetric) {
            self.spec = spec
            want = newWant
            if tokens > newWant {
                if metric != .requests { pendingReturn += tokens - newWant }
                tokens = newWant
            }
        }
    }

    let platform: Database
    let logger: Logger
    let interval: Duration
    /// Keyed by limit, so checks of different tenants rarely meet on a lock.
    private let locals = ShardedMap<Key, Local>(minimumShards: 16)
    /// One take from PostgreSQL per limit at a time.
    private let takes = SingleFlight<Key, Void>()
    /// The takes of checks that ran short, many limits per statement.
    private let batcher: GrantBatcher

    public init(platform: Database, logger: Logger, interval: Duration = .milliseconds(100)) {
        self.platform = platform
        self.logger = logger
        self.interval = interval
        batcher = GrantBatcher { [platform] requests in try await Self.grant(requests, on: platform) }
    }

    /// How long a request rate that ran dry counts as contended: ten intervals.
    var contention: UInt64 { UInt64(intervalSeconds * 1e10) }

    var intervalSeconds: Double { Double(interval.components.seconds) + Double(interval.components.attoseconds) / 1e18 }

    /// How much to hold: enough for a couple of intervals at the recent pace, and at least `amount`.
    func initialWant(_ spec: Spec, metric: QuotaMetric, amount: Double) -> Double {
        if metric == .requests { return min(spec.limit, max(amount, spec.rate * intervalSeconds * 2, 1)) }
        return min(spec.limit, max(amount, (spec.limit / 50).rounded(.up), 1))
    }

    /// Spends `amount` of `key`'s limit if this instance's share holds it — the common case,
    /// without the cost of an async call. - Returns: false when it does not (then call `take`).
    func takeHeld(_ key: Key, amount: Double, spec: Spec, now: UInt64) -> Bool {
        locals.withExisting(key) { local -> Bool in
            if local.spec != spec { local.adopt(spec, want: initialWant(spec, metric: key.metric, amount: amount), metric: key.metric) }
            guard local.tokens >= amount else { return false }
            local.lastUsed = now
            local.tokens -= amount
            local.spentSinceTick += amount
            return true
        } ?? false
    }

    /// Spends `amount` of `key`'s limit. - Returns: false when the limit has nothing left for it.
    func take(_ key: Key, amount: Double, spec: Spec, now: UInt64) async throws -> Bool {
        var waits = 0
        while true {
            enum Step { case done(Bool), topUp(Double) }
            let step = locals.withValue(key) { slot -> Step in
                var local = slot ?? Local(spec: spec, want: initialWant(spec, metric: key.metric, amount: amount), lastUsed: now)
                defer { slot = local }
                if local.spec != spec { local.adopt(spec, want: initialWant(spec, metric: key.metric, amount: amount), metric: key.metric) }
                local.lastUsed = now
                if local.tokens >= amount {
                    local.tokens -= amount
                    local.spentSinceTick += amount
                    return .done(true)
                }
                if local.dryUntil > now && !takes.isRunning(key) { return .done(false) }
                // A request rate at its edge: the background pass tops it up every interval, in one
                // statement with every other limit. Asking the database here as well, per check,
                // would queue each refused check behind a round trip (and a commit) and load the
                // database with one statement per check; refusing at once errs towards refusing,
                // for at most an interval, never towards admitting. (Budgets do not refill by
                // themselves, so they still ask: what is given back elsewhere may be theirs.)
                if key.metric == .requests && local.lastDry > 0 && now < local.lastDry + contention { return .done(false) }
                return .topUp(max(local.want, amount) - local.tokens)
            }
            switch step {
            case .done(let ok): return ok
            case .topUp(let wanted):
                try await takes.run(key) { try await self.topUp(key, spec: spec, wanted: wanted) }
                // A refusal noted by that take holds for everyone who waited on it.
                let (dry, returning) = locals.withValue(key) { (($0?.dryUntil ?? 0) > now && ($0?.tokens ?? 0) < amount, ($0?.returning ?? 0) > 0) }
                if dry { return false }
                // Short only because this instance's own surplus is on its way back: ask again once it is there.
                if returning && locals.withValue(key, { ($0?.tokens ?? 0) < amount }) {
                    waits += 1
                    if waits > 200 { return false }
                    try await Task.sleep(for: .milliseconds(1))
                }
            }
        }
    }

    /// What this instance holds of `key` now.
    func held(_ key: Key) -> Double { locals[key]?.tokens ?? 0 }

    /// Puts back what a refused multi-limit check, a refund or an expired reservation did not use.
    func giveBack(_ key: Key, amount: Double) {
        locals.withValue(key) { $0?.tokens += amount }
    }

    /// Spends without asking (usage already happened); the allowance may go below zero.
    func charge(_ key: Key, amount: Double, spec: Spec, now: UInt64) {
        locals.withValue(key) { slot in
            var local = slot ?? Local(spec: spec, want: initialWant(spec, metric: key.metric, amount: amount), lastUsed: now)
            local.tokens -= amount
            local.spentSinceTick += amount
            local.lastUsed = now
            slot = local
        }
    }

    private func topUp(_ key: Key, spec: Spec, wanted: Double) async throws {
        let granted = try await batcher.grant((key, spec, 0, wanted))
        let now = QuotaEngine.monotonicNanoseconds()
        locals.withValue(key) { slot in
            slot?.tokens += granted
            // Less than asked: the limit is spent for now; do not ask again before the next pass
            // (unless a surplus of ours is still on its way back to the row).
            if granted < wanted && (slot?.returning ?? 0) <= 0 {
                slot?.dryUntil = now + UInt64(intervalSeconds * 1e9)
                slot?.lastDry = now
            }
        }
    }

    /// The database traffic the allowances cost: statements, and limits (rows of
    /// `quota_allowances`) written by them.
    static let traffic = (
        statements: Counter(label: "jarvis_quota_allowance_statements_total"),
        rows: Counter(label: "jarvis_quota_allowance_rows_total")
    )

    /// One round trip for many limits, their rows locked in one order (tenant, subject, metric,
    /// window) whoever sends them, so instances granting overlapping sets never deadlock.
    /// - Returns: the grant of each, in the order given.
    static func grant(_ given: [(Key, Spec, Double, Double)], on platform: Database) async throws -> [Double] {
        traffic.statements.increment()
        traffic.rows.increment(by: given.count)
        let order = given.indices.sorted { Key.lockOrder(given[$0].0, given[$1].0) }
        let requests = order.map { given[$0] }
        func column(_ value: ((Key, Spec, Double, Double)) -> String) -> TextArray { TextArray(requests.map(value)) }
        let rows = try await platform.query(
            """
            SELECT jarvis_quota_grant(t, k, s, m, w, r, l, ret, want) AS granted
            FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::bigint[], $6::float8[], $7::float8[], $8::float8[], $9::float8[])
                 WITH ORDINALITY AS x(t, k, s, m, w, r, l, ret, want, n)
            ORDER BY n
            """,
            [column { $0.0.tenantID.lowercasedString }, column { $0.0.subject.kind.rawValue },
             column { ($0.0.subject.id ?? UsageTotals.nobody).lowercasedString }, column { $0.0.metric.rawValue },
             column { String($0.0.window) }, column { String($0.1.rate) }, column { String($0.1.limit) },
             column { String($0.2) }, column { String($0.3) }], prepared: true)
        let sorted = try rows.all.map { Double(try $0.string("granted")) ?? 0 }
        var granted = [Double](repeating: 0, count: given.count)
        for (position, index) in order.enumerated() where position < sorted.count { granted[index] = sorted[position] }
        return granted
    }

    /// Sets each local allowance's need from its recent pace; drops idle ones. - Returns: what to
    /// give back or take, per limit: (key, spec, returned, wanted).
    private func review(_ all: inout [Key: Local], now: UInt64) -> [(Key, Spec, Double, Double)] {
        let idle: UInt64 = 10_000_000_000
        var plan: [(Key, Spec, Double, Double)] = []
        var unused: [Key] = []
        // Walked by index and written in place, the idle dropped after: writing through the
        // dictionary while a `for … in` loop held it made the shard copy itself whole.
        var index = all.startIndex
        while index != all.endIndex {
            defer { all.formIndex(after: &index) }
            let key = all.keys[index]
            guard !takes.isRunning(key) else { continue }
            var local = all.values[index]
            if now > local.lastUsed, now - local.lastUsed > idle {
                if local.tokens + local.pendingReturn > 0 { plan.append((key, local.spec, local.tokens + local.pendingReturn, 0)) }
                unused.append(key)
                continue
            }
            // The pace of the last interval, smoothed; hold about two intervals of it.
            let pace = local.spentSinceTick
            local.want = min(local.spec.limit, max(local.want * 0.5 + pace * 1.5, initialWant(local.spec, metric: key.metric, amount: 1) / 4, 1))
            // Budgets count whole tokens or micro-units; whole amounts keep the arithmetic exact.
            if key.metric != .requests { local.want = local.want.rounded(.up) }
            local.spentSinceTick = 0
            // Hysteresis: only a holding well above or below the need is worth a round trip.
            var returned = local.pendingReturn
            var wanted = 0.0
            local.pendingReturn = 0
            let surplus = local.tokens - local.want
            if local.tokens > 2 * local.want, surplus >= 1 {
                local.tokens -= surplus
                returned += surplus
                // What goes back is there to take again: the limit is not dry for this instance.
                local.dryUntil = 0
            } else if local.tokens < local.want / 2, local.want - local.tokens >= 1 {
                wanted = local.want - local.tokens
            }
            local.returning += returned
            if returned > 0 || wanted > 0 { plan.append((key, local.spec, returned, wanted)) }
            all.values[index] = local
        }
        for key in unused { all[key] = nil }
        return plan
    }

    /// One background pass: give back the surplus of every active limit, top up the short ones,
    /// and let go of limits unused for a while.
    func tick() async {
        let now = QuotaEngine.monotonicNanoseconds()
        var plan: [(Key, Spec, Double, Double)] = []
        locals.forEachShard { all in plan += review(&all, now: now) }
        guard !plan.isEmpty else { return }
        // Whatever became of it, the surplus is no longer on its way.
        defer {
            for (key, _, returned, _) in plan where returned > 0 {
                locals.withValue(key) { $0?.returning -= returned }
            }
        }
        do {
            let granted = try await Self.grant(plan, on: platform)
            for ((key, _, _, wanted), got) in zip(plan, granted) where wanted > 0 {
                locals.withValue(key) { slot in
                    slot?.tokens += got
                    slot?.dryUntil = got < wanted ? now + UInt64(intervalSeconds * 1e9) : 0
                    if got < wanted { slot?.lastDry = now }
                }
            }
        } catch {
            // Given-back tokens stay lost to the global row until the database is back; that errs
            // towards refusing, never towards admitting.
            logger.debug("quota allowances not refreshed", metadata: ["error": "\(error)"])
        }
    }

    /// The background pass, every `interval`, as a `PeriodicService`.
    public func service(logger: Logger) -> PeriodicService {
        PeriodicService("quota-allowances", every: interval, logger: logger) { await self.tick() }
    }
}
