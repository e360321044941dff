import Foundation
import Hummingbird
import HummingbirdTesting
import JarvisHTTP
import JarvisIdentity
import JarvisStore

extension Fixture {
    /// An application on the same database with changed identity settings (short lockouts,
    /// short-lived tokens), for tests that need time to pass quickly.
    static func withCustomAPI<T: Sendable>(
        _ change: (inout IdentityConfiguration) -> Void, _ body: @Sendable (API, JarvisApplication) async throws -> T
    ) async throws -> T {
        try await withCustomServer({ change(&$0.identity) }, body)
    }

    /// An application of its own, built from a changed server configuration.
    static func withCustomServer<T: Sendable>(
        _ change: (inout ServerConfiguration) -> Void, _ body: @Sendable (API, JarvisApplication) async throws -> T
    ) async throws -> T {
        let key = try await superAdminKey()
        var configuration = Fixture.configuration
        change(&configuration)
        let jarvis = try JarvisApplication(configuration: configuration, logger: logger)
        try await jarvis.prepare()
        try await startListening(jarvis)
        defer { jarvis.invalidations.stop() }
        let application = Application(responder: jarvis.responder, logger: logger)
        return try await application.test(.router) { client in
            try await body(API(client: client, adminKey: key), jarvis)
        }
    }
}
