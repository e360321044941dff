internal import ArgumentParser
internal import Foundation
internal import JarvisCrypto
internal import JarvisIdentity
internal import JarvisStore

/// `jarvis bench-crypto`: in-process, single-core figures for the identity hot spots, printed as
/// `bench <name> <value> <unit>` lines (the benchmark command collects them).
struct BenchCrypto: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-crypto", abstract: "Measure JWT issue/verify and Argon2id on one core.", shouldDisplay: false)

    @Option(help: "Seconds per figure.") var seconds: Double = 2

    /// Runs `work` repeatedly on the current thread for about `seconds`. - Returns: operations per second.
    func rate(_ work: () throws -> Void) rethrows -> Double {
        let clock = ContinuousClock()
        var count = 0
        let start = clock.now
        let end = start + .milliseconds(Int(seconds * 1000))
        while clock.now < end {
            for _ in 0..<64 { try work() }
            count += 64
        }
        let elapsed = clock.now - start
        return Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
    }

    func run() async throws {
        let now = Date()
        let claims = AccessTokenClaims(
            issuer: "jarvis", audience: "jarvis", subject: UUIDv7.make(), tenantID: UUIDv7.make(), kind: "user",
            roles: ["developer", "viewer"], scope: nil, issuedAt: now, notBefore: now, expiresAt: now.addingTimeInterval(900),
            tokenID: UUIDv7.make().lowercasedString)
        let payload = Array(repeating: UInt8(7), count: 256)
        let sha = rate { _ = SHA256.hash(payload) }
        print("bench sha256_256B_baseline \(Int(sha)) ops/s")
        for algorithm in JWTAlgorithm.allCases {
            let key = try SigningKey.generate(algorithm)
            let name = algorithm.rawValue.lowercased()
            let token = try JWT.sign(claims, with: key)
            let issue = try rate { _ = try JWT.sign(claims, with: key) }
            let verify = try rate { _ = try JWT.verify(token, key: key, issuer: "jarvis", audience: "jarvis", now: now, leeway: 30) }
            print("bench jwt_issue_\(name) \(Int(issue)) tokens/s")
            print("bench jwt_verify_cold_\(name) \(Int(verify)) tokens/s")
        }
        // The cached path: what the authentication middleware pays for a hot token.
        var cache: [[UInt8]: AccessTokenClaims] = [:]
        let hot = try JWT.sign(claims, with: try SigningKey.generate(.eddsa))
        cache[SHA256.hash(hot)] = claims
        let cached = rate { _ = cache[SHA256.hash(hot)] }
        print("bench jwt_verify_cached \(Int(cached)) tokens/s")
        print("bench jwt_verify_cached_vs_sha256_ratio \(String(format: "%.2f", cached / sha))")

        let argon = Argon2id.owaspMinimum
        let clock = ContinuousClock()
        let start = clock.now
        let rounds = 10
        for i in 0..<rounds { _ = try argon.hash(password: Array("benchmark password \(i)".utf8)) }
        let each = (clock.now - start) / rounds
        let ms = Double(each.components.seconds) * 1000 + Double(each.components.attoseconds) / 1e15
        print("bench argon2id_hash_default_params \(String(format: "%.1f", ms)) ms")
        print("bench argon2id_hashes_per_core \(String(format: "%.1f", 1000 / ms)) hashes/s")
    }
}
