internal import ArgumentParser
internal import Foundation
internal import JarvisReleases

/// `jarvis bench-resolve`: one `/v1/resolve` decision in process, on one core, from the resolver's
/// memory (see `ResolverBenchmark`). Prints `bench <name> <value> <unit>` lines.
struct BenchResolve: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-resolve", abstract: "Measure one in-memory release resolve decision.", shouldDisplay: false)

    @Option(help: "Tenants in memory.") var tenants = 1_000

    func run() throws {
        let figures = try ResolverBenchmark.run(tenants: tenants)
        print("bench resolve_decision_median \(String(format: "%.0f", figures.medianNanoseconds)) ns")
        print("bench resolve_decision_p99 \(String(format: "%.0f", figures.p99Nanoseconds)) ns")
        // Half the prompts run a rollout at 30 %: about 15 % of answers are candidates.
        print("bench resolve_decision_candidate_share \(String(format: "%.3f", figures.candidateShare))")
    }
}
