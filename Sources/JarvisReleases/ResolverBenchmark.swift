internal import Foundation
internal import JarvisStore
internal import Logging

/// `jarvis bench-resolve`'s measurement: one resolve decision from memory — the tenant's snapshot
/// from the sharded map, the prompt and label lookups, the subject's bucket (SHA-256) and the
/// choice — over 1,000 tenants with 20 prompts each, half of them with a rollout at 30 %. It lives
/// here because only this module can put snapshots in memory without a database.
public enum ResolverBenchmark {
    public struct Figures: Sendable {
        public let medianNanoseconds: Double
        public let p99Nanoseconds: Double
        public let candidateShare: Double
    }

    public static func run(tenants: Int = 1_000, promptsPerTenant: Int = 20) throws -> Figures {
        // Never connects: every tenant is installed before the first resolve.
        let unused = Database(name: "bench", configuration: .init(connectionString: "postgresql:///unused"), logger: Logger(label: "bench"))
        let resolver = Resolver(platform: unused, changes: nil)
        let tenantIDs = (0..<tenants).map { _ in UUIDv7.make() }
        let names = (0..<promptsPerTenant).map { "prompt-\($0)" }
        for tenantID in tenantIDs {
            var labels: [Resolver.LabelKey: Resolver.Target] = [:]
            for (index, name) in names.enumerated() {
                let stable = Resolver.answer(prompt: name, label: "production", version(name, "1.0.0"), rollout: nil)
                let rollout = UUIDv7.make()
                let candidate = Resolver.answer(prompt: name, label: "production", version(name, "1.1.0"), rollout: (rollout, "candidate"))
                labels[.init(kind: .prompt, name: name, label: "production")] = Resolver.Target(
                    stable: stable, rollout: index.isMultiple(of: 2) ? (rollout.lowercasedString, 3_000, candidate) : nil, retired: false)
                labels[.init(kind: .prompt, name: name, label: "staging")] = Resolver.Target(stable: candidate, rollout: nil, retired: false)
            }
            resolver.install(.init(labels: labels, flags: []), for: tenantID)
        }
        let subjects = (0..<1_024).map { "user-\($0 * 7_919)" }
        var candidates = 0, answered = 0
        let clock = ContinuousClock()
        var samples: [Double] = []
        let round = 10_000
        for sample in 0..<300 {
            let start = clock.now
            for i in 0..<round {
                let n = i &+ sample &* 31
                guard let answer = try resolver.resolveLoaded(
                    .prompt, names[n % names.count], label: "production", subject: subjects[n & 1_023], tenantID: tenantIDs[n % tenants])
                else { continue }
                answered += 1
                if answer.version == "1.1.0" { candidates += 1 }
            }
            let elapsed = clock.now - start
            samples.append((Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(round))
        }
        precondition(answered == 300 * round, "a resolve found nothing: the benchmark measured nothing")
        samples.sort()
        return Figures(
            medianNanoseconds: samples[samples.count / 2], p99Nanoseconds: samples[samples.count * 99 / 100],
            candidateShare: Double(candidates) / Double(answered))
    }

    static func version(_ name: String, _ text: String) -> PromptVersion {
        PromptVersion(
            id: UUIDv7.make(), promptID: UUIDv7.make(), version: Semver(text)!, template: "You are {{role}}. Answer {{question}}.",
            variables: [.init(name: "role", type: .string, required: true, default: nil), .init(name: "question", type: .string, required: true, default: nil)],
            parameters: ["temperature": .number(0.2)], changelog: "", status: .published, createdAt: Date(), publishedAt: Date())
    }
}
