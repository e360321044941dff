public import JarvisCrypto
internal import NIOPosix

/// Argon2id hashing on its own small thread pool, behind an admission limit: at most
/// `concurrency` hashes run (each holds `memoryKiB` of memory), a bounded queue waits briefly,
/// and everything beyond is `IdentityError.overloaded` (503 with Retry-After), so a login flood
/// neither exhausts memory nor takes threads from the request path.
public final class PasswordHasher: Sendable {
    public let parameters: Argon2id
    private let threads: NIOThreadPool
    private let limiter: AdmissionLimiter
    /// A real hash of a random password with the configured parameters: verified against when an
    /// account does not exist, so both paths cost the same.
    private let decoy: String

    public init(parameters: Argon2id, concurrency: Int, maxQueued: Int = 64, maxWait: Duration = .seconds(2)) throws {
        self.parameters = parameters
        threads = NIOThreadPool(numberOfThreads: max(1, concurrency))
        threads.start()
        limiter = AdmissionLimiter(permits: max(1, concurrency), maxWaiters: maxQueued, maxWait: maxWait)
        decoy = try parameters.hash(password: SecureRandom.bytes(16))
    }

    public func hash(_ password: String) async throws -> String {
        let parameters = self.parameters
        return try await run { try parameters.hash(password: Array(password.utf8)) }
    }

    /// - Parameter encoded: the stored PHC string, or nil for "no such account" (checked against the decoy).
    public func verify(_ password: String, encoded: String?) async throws -> Bool {
        let target = encoded ?? decoy
        let matches = try await run { try Argon2id.verify(password: Array(password.utf8), encoded: target) }
        return encoded != nil && matches
    }

    /// True when `encoded` was made with weaker parameters than configured, so it is rehashed at the next login.
    public func needsUpgrade(_ encoded: String) -> Bool {
        guard let stored = Argon2id.parameters(of: encoded) else { return true }
        return stored.memoryKiB < parameters.memoryKiB || stored.iterations < parameters.iterations
            || stored.parallelism < parameters.parallelism
    }

    private func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await limiter.withPermit {
                try await threads.runIfActive(work)
            }
        } catch is AdmissionLimiter.Refused {
            throw IdentityError.overloaded
        }
    }

    public func shutdown() async {
        try? await threads.shutdownGracefully()
    }
}
