import Foundation
import Hummingbird
import HummingbirdTesting
import JarvisConfiguration
import JarvisHTTP
import JarvisIdentity
import JarvisStore
import ServiceLifecycle

extension Fixture {
    /// An application on the same database with changed identity settings (short lockouts,
    /// short-lived tokens), for tests that need time to pass quickly.
    static func withCustomAPI<T: Sendable>(
        _ change: (inout IdentityConfiguration) -> Void, _ body: @Sendable (API, JarvisApplication) async throws -> T
    ) async throws -> T {
        try await withCustomServer({ change(&$0.identity) }, body)
    }

    /// An application of its own, built from a changed configuration by `buildApplication`, with
    /// its services running for the length of `body` and shut down gracefully after it.
    static func withCustomServer<T: Sendable>(
        _ change: (inout ServerConfiguration) -> Void, _ body: @Sendable (API, JarvisApplication) async throws -> T
    ) async throws -> T {
        let key = try await superAdminKey()
        var configuration = Fixture.configuration
        change(&configuration)
        let jarvis = try await buildApplication(configuration, logger: logger)
        let group = ServiceGroup(services: jarvis.services, logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { tasks in
            tasks.addTask {
                try await group.run()
                return nil
            }
            defer { tasks.cancelAll() }
            do {
                try await waitUntilListening(jarvis)
                let application = Application(responder: jarvis.responder, logger: logger)
                let result = try await application.test(.router) { client in try await body(API(client: client, adminKey: key), jarvis) }
                await group.triggerGracefulShutdown()
                while let next = try await tasks.next() { if next == nil { break } }
                return result
            } catch {
                await group.triggerGracefulShutdown()
                throw error
            }
        }
    }
}
