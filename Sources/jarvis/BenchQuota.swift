internal import ArgumentParser
internal import Foundation
internal import JarvisConfiguration
internal import JarvisQuota
internal import JarvisStore
internal import JarvisTenancy

/// `jarvis bench-quota`: one quota decision in process, on one core, once the tenant is in memory
/// — the request draw alone, and the draw plus a token reservation (left open, as a gateway's
/// checks leave theirs until the usage report) — as the median of many timed rounds. The tenant
/// must have a request-rate policy and a token budget far above what the run draws (the HTTP
/// benchmark gives every seeded tenant both). Prints `bench <name> <value> <unit>` lines.
struct BenchQuota: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-quota", abstract: "Measure one in-memory quota decision.", shouldDisplay: false)

    @Option(help: "The tenant (slug or id) whose quotas are drawn.") var tenant: String
    @Option(help: "Principals drawing, spread over the decisions.") var principals = 64
    @Option(help: "Timed rounds per figure.") var rounds = 300
    @Option(help: "Decisions per round.") var each = 2_000
    @Option(help: "Only this figure (quota_draw or quota_draw_and_reservation), for profiling.") var only: String?

    func run() async throws {
        let logger = Environment.logger()
        let configuration = try Environment.configuration()
        let reference = tenant
        let principalCount = principals
        let (roundCount, perRound, only) = (rounds, each, only)
        try await Database.using(name: "platform", configuration: configuration.platformDatabase, logger: logger) { platform in
            guard let found = try await Tenants(platform: platform).get(reference) else { throw ExitMessage("bench-quota: no tenant '\(reference)'") }
            let engine = QuotaEngine(platform: platform, logger: logger)
            try await engine.ensureLoaded(found.id)
            let callers = (0..<principalCount).map { _ in QuotaCaller(tenantID: found.id, principalID: UUIDv7.make(), apiKeyID: UUIDv7.make()) }
            for (name, ask) in [("quota_draw", QuotaAsk(requests: 1)), ("quota_draw_and_reservation", QuotaAsk(requests: 1, tokens: 100))] where only == nil || only == name {
                var refused = 0
                // Warm: the allowances are taken from PostgreSQL once, before the timed rounds.
                for i in 0..<1_000 { if case .denied = try await engine.admit(ask, caller: callers[i % principalCount]) { refused += 1 } }
                let (median, p99) = try await Self.rounds(roundCount, each: perRound) { i in
                    if case .denied = try await engine.admit(ask, caller: callers[i % principalCount]) { refused += 1 }
                }
                guard refused == 0 else { throw ExitMessage("bench-quota: \(refused) decisions refused; the tenant's limits are too small to measure") }
                print("bench \(name)_median \(String(format: "%.0f", median)) ns")
                print("bench \(name)_p99 \(String(format: "%.0f", p99)) ns")
            }
        }
    }

    /// Median and 99th percentile of the per-call time over `count` rounds of `each` calls.
    static func rounds(_ count: Int, each: Int, _ work: (Int) async throws -> Void) async throws -> (Double, Double) {
        let clock = ContinuousClock()
        var samples: [Double] = []
        for _ in 0..<count {
            let start = clock.now
            for i in 0..<each { try await work(i) }
            let elapsed = clock.now - start
            samples.append((Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(each))
        }
        samples.sort()
        return (samples[count / 2], samples[count * 99 / 100])
    }
}
