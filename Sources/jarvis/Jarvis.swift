internal import ArgumentParser

/// `jarvis`: the control plane's one executable.
@main
struct Jarvis: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Jarvis Control Plane: tenants, identities, access, quotas and audit for an AI platform.",
        subcommands: [Serve.self, Migrate.self, Bootstrap.self, Keys.self, Usage.self, Audit.self, BenchCrypto.self, BenchDecision.self, BenchResolve.self, BenchQuota.self])
}
