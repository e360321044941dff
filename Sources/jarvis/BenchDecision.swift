internal import ArgumentParser
internal import Foundation
internal import JarvisAccess
internal import JarvisCache
internal import JarvisCrypto
internal import JarvisStore

/// `jarvis bench-decision`: one cached `/v1/check` decision in process, on one core — digest of
/// the credential, cache lookup, permission probe, bit test — as the median of many timed
/// rounds; and the memory a cached caller costs, as resident-set growth over 100,000 cached keys
/// of 1,000 tenants. Prints `bench <name> <value> <unit>` lines.
struct BenchDecision: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-decision", abstract: "Measure one cached access decision and the cache's memory per caller.", shouldDisplay: false)

    @Option(help: "Keys to cache for the memory figure.") var keys = 100_000
    @Option(help: "Tenants the keys belong to.") var tenants = 1_000
    @Option(help: "Distinct cached keys the timed decisions draw from (all keys: a working set larger than the CPU caches).")
    var spread = 1024

    /// Custom roles three levels deep over `developer`, as the HTTP benchmark's data set has.
    static func graph() -> RoleGraph {
        RoleGraph(custom: [
            .init(name: "level1", permissions: ["reports:read", "reports:export"], inherits: ["developer"], builtin: false),
            .init(name: "level2", permissions: ["models:deploy", "prompts:*"], inherits: ["level1"], builtin: false),
            .init(name: "level3", permissions: ["billing:read"], inherits: ["level2", "operator"], builtin: false),
        ])
    }

    static func credential(_ n: Int) -> String { "jvs_bench\(n)_" + String(repeating: "k", count: 32) }

    func run() async throws {
        let cache = CredentialCache(capacity: keys * 2)
        let graph = Self.graph()
        let tenantIDs = (0..<tenants).map { _ in UUIDv7.make() }
        let before = Self.residentBytes()
        for n in 0..<keys {
            let tenant = n % tenants
            let caller = Caller(
                tenantID: tenantIDs[tenant], tenantSlug: "tenant-\(tenant)", principalID: UUIDv7.make(), kind: .serviceAccount,
                roles: ["level3"], apiKeyID: UUIDv7.make(), graph: graph)
            let (high, low) = SHA256.prefix128(Self.credential(n))
            _ = try await cache.caller(key: .init(high: high, low: low)) { (caller, .distantFuture) }
        }
        let after = Self.residentBytes()
        print("bench cache_callers \(cache.count) callers")
        print("bench cache_bytes_per_caller \((after - before) / keys) bytes")

        // A power of two, so a decision picks its credential with a mask; drawn in a scattered order.
        let drawn = 1 << (Int.bitWidth - max(1, min(spread, keys)).leadingZeroBitCount - 1)
        let mask = drawn - 1
        var generator = SystemRandomNumberGenerator()
        let credentials = (0..<drawn).map { _ in Self.credential(Int.random(in: 0..<keys, using: &generator)) }
        let permissions = ["documents:write", "prompts:update", "billing:read", "admin:user"]
        var allowed = 0
        let clock = ContinuousClock()
        var samples: [Double] = []
        let round = 10_000
        for sample in 0..<300 {
            let start = clock.now
            for i in 0..<round {
                let credential = credentials[(sample &* round &+ i) & mask]
                let (high, low) = SHA256.prefix128(credential)
                guard let caller = cache.cached(.init(high: high, low: low)),
                    let probe = PermissionIDs.shared.probe(permissions[(i + sample) & 3])
                else { continue }
                if caller.allows(probe, name: permissions[(i + sample) & 3]) { allowed += 1 }
            }
            let elapsed = clock.now - start
            samples.append((Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(round))
        }
        samples.sort()
        precondition(allowed > 0, "no decision allowed: the benchmark measured nothing")
        print("bench cached_decision_median \(String(format: "%.0f", samples[samples.count / 2])) ns")
        print("bench cached_decision_p99 \(String(format: "%.0f", samples[samples.count * 99 / 100])) ns")
        let digest = Self.median(rounds: 100, each: round) { i in _ = SHA256.prefix128(credentials[i & mask]) }
        print("bench cached_decision_sha256_part \(String(format: "%.0f", digest)) ns")

        // A tenant's change drops its entries from the cache: what that costs with every key cached.
        var invalidations: [Double] = []
        for tenant in tenantIDs.prefix(9) {
            let start = clock.now
            cache.invalidate(tenantID: tenant)
            let elapsed = clock.now - start
            invalidations.append(Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
        }
        precondition(cache.count == keys - 9 * (keys / tenants), "invalidation dropped \(keys - cache.count) entries, not \(9 * (keys / tenants))")
        print("bench cache_invalidate_tenant_median \(String(format: "%.2f", invalidations.sorted()[invalidations.count / 2])) ms (\(cache.count) entries cached)")
    }

    static func median(rounds: Int, each: Int, _ work: (Int) -> Void) -> Double {
        let clock = ContinuousClock()
        var samples: [Double] = []
        for _ in 0..<rounds {
            let start = clock.now
            for i in 0..<each { work(i) }
            let elapsed = clock.now - start
            samples.append((Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(each))
        }
        return samples.sorted()[rounds / 2]
    }

    /// This process's resident set, from /proc.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kb = Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "")
        else { return 0 }
        return kb * 1024
    }
}
