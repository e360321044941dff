import Foundation
import HTTPTypes
import JarvisIdentity
import Testing

/// Ending a session ends its access tokens at once, not when they expire.
@Suite struct SessionEndTests {
    static func session(_ api: API, _ u: (tenant: API.Seeded, id: String, email: String, password: String)) async throws -> (access: String, refresh: String) {
        let login = try await IdentityAPITests.login(api, u.tenant.slug, u.email, u.password)
        return (try #require(login["access_token"], "\(login.text)"), try #require(login["refresh_token"]))
    }

    /// Checked through both the admin API (`/v1/me`) and the hot path (`/v1/check`), each after the
    /// token was cached, so a cached answer cannot outlive the change.
    static func expectRefused(_ api: API, _ token: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        try await api.get("/v1/me", key: token).expectProblem(.unauthorized, sourceLocation: sourceLocation)
        let check = try await api.post("/v1/check", ["credential": token, "permission": "documents:read"])
        #expect(check.json["allowed"] as? Bool == false, "\(check.text)", sourceLocation: sourceLocation)
    }

    static func use(_ api: API, _ token: String) async throws {
        #expect(try await api.get("/v1/me", key: token).status == .ok)
        #expect(try await api.post("/v1/check", ["credential": token, "permission": "documents:read"]).json["allowed"] as? Bool == true)
    }

    @Test func logoutEndsTheAccessTokensAtOnce() async throws {
        try await Fixture.withAPI { api in
            let u = try await IdentityAPITests.user(api, prefix: "lo")
            let s = try await Self.session(api, u)
            try await Self.use(api, s.access)
            #expect(try await api.postAnonymous("/v1/auth/logout", ["refresh_token": s.refresh]).status == .noContent)
            try await Self.expectRefused(api, s.access)
            // A new login works at once.
            try await Self.use(api, try await Self.session(api, u).access)
        }
    }

    @Test func aPasswordResetEndsTheAccessTokensAtOnce() async throws {
        try await Fixture.withAPI { api in
            let u = try await IdentityAPITests.user(api, prefix: "pr")
            let s = try await Self.session(api, u)
            try await Self.use(api, s.access)
            let reset = try await api.request(
                .put, "/v1/tenants/\(u.tenant.slug)/users/\(u.id)/password", key: u.tenant.adminKey,
                body: API.encode(["password": "a brand new long passphrase"]))
            #expect(reset.status == .noContent)
            try await Self.expectRefused(api, s.access)
        }
    }

    @Test func aReusedRefreshTokenEndsTheFamilysAccessTokens() async throws {
        try await Fixture.withAPI { api in
            let u = try await IdentityAPITests.user(api, prefix: "ru")
            let first = try await Self.session(api, u)
            let rotated = try await api.postAnonymous("/v1/auth/refresh", ["refresh_token": first.refresh])
            let stolenAccess = try #require(rotated["access_token"])
            try await Self.use(api, stolenAccess)
            // The old refresh token comes back: theft. The family is revoked, and its access tokens with it.
            try await api.postAnonymous("/v1/auth/refresh", ["refresh_token": first.refresh]).expectProblem(.unauthorized)
            try await Self.expectRefused(api, stolenAccess)
        }
    }

    /// The README promises a leeway on `exp` for clock skew: a token just past its expiry still works
    /// within it, and not after.
    @Test func expiryAllowsTheConfiguredLeeway() async throws {
        try await Fixture.signingKeys.run { try await Self.leeway() }
    }

    private static func leeway() async throws {
        try await Fixture.withCustomAPI({ $0.accessTokenTTL = 1; $0.leeway = 3 }) { api, _ in
            let u = try await IdentityAPITests.user(api, prefix: "lw")
            let s = try await Self.session(api, u)
            try await Task.sleep(for: .milliseconds(2100))
            #expect(try await api.get("/v1/me", key: s.access).status == .ok, "refused within the leeway")
            #expect(try await api.post("/v1/check", ["credential": s.access, "permission": "documents:read"]).json["allowed"] as? Bool == true)
            try await Task.sleep(for: .milliseconds(3000))
            // (Refused as expired, or as signed by a retired key: the rotation tests retire keys fast.)
            try await api.get("/v1/me", key: s.access).expectProblem(.unauthorized)
        }
    }
}
