/// Lets one body through at a time across suites: for tests that share something process-wide a
/// concurrent test can change under them (the signing keys a rotation test retires within seconds).
actor SerialGate {
    private var busy = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    private func enter() async {
        guard busy else {
            busy = true
            return
        }
        await withCheckedContinuation { waiting.append($0) }
    }

    private func leave() {
        if waiting.isEmpty { busy = false } else { waiting.removeFirst().resume() }
    }

    func run<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        await enter()
        do {
            let result = try await body()
            leave()
            return result
        } catch {
            leave()
            throw error
        }
    }
}

extension Fixture {
    /// Held by tests that rotate or retire signing keys, and by tests whose tokens must outlive a
    /// few seconds: a rotation retiring the key under such a token would fail it for no fault.
    static let signingKeys = SerialGate()
}
