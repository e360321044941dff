internal import ArgumentParser
internal import JarvisConfiguration
internal import JarvisAudit
internal import JarvisHTTP
internal import JarvisIdentity
internal import JarvisStore
internal import Logging

/// `jarvis keys rotate`: a new active signing key; the old one verifies until its tokens expire.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Manage access-token signing keys.", subcommands: [Rotate.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make a new signing key active (no restart needed anywhere).")

        @Option(help: "EdDSA or HS256 (default: JARVIS_JWT_ALGORITHM, else EdDSA).") var algorithm: String?

        func run() async throws {
            let logger = Environment.logger()
            let configuration = try Environment.configuration()
            var chosen = configuration.identity.algorithm
            if let algorithm {
                guard let value = JWTAlgorithm(rawValue: algorithm) else { throw ExitMessage("--algorithm must be EdDSA or HS256") }
                chosen = value
            }
            let key = try await Database.using(name: "platform", configuration: configuration.platformDatabase, logger: logger) { platform in
                try await SigningKeyStore(platform: platform, masterKey: configuration.masterKey).activate(
                    try SigningKey.generate(chosen), origin: "generated", verifyWindow: configuration.identity.verifyWindow, actor: AuditActor.system)
            }
            print("keys: \(key.kid) (\(key.algorithm.rawValue)) is active; the previous key verifies for \(Int(configuration.identity.verifyWindow)) more seconds")
        }
    }
}
