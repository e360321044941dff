import Foundation
import HTTPTypes
import JarvisAudit
import JarvisHTTP
import JarvisIdentity
import JarvisStore
import Testing

@Suite struct IdentityAPITests {
    /// A user with a password in a fresh tenant.
    static func user(_ api: API, prefix: String = "id") async throws -> (tenant: API.Seeded, id: String, email: String, password: String) {
        let tenant = try await api.seedTenant(prefix: prefix)
        let email = "ada@\(tenant.slug).example"
        let created = try await api.post("/v1/tenants/\(tenant.slug)/users", ["email": email], key: tenant.adminKey)
        let id = try #require(created["id"])
        _ = try await api.post("/v1/tenants/\(tenant.slug)/role-bindings", ["principal_id": id, "role": "developer"], key: tenant.adminKey)
        let password = "a long passphrase for \(tenant.slug)"
        let set = try await api.request(
            .put, "/v1/tenants/\(tenant.slug)/users/\(id)/password", key: tenant.adminKey, body: API.encode(["password": password]))
        try #require(set.status == .noContent, "\(set.text)")
        return (tenant, id, email, password)
    }

    static func login(_ api: API, _ tenant: String, _ email: String, _ password: String) async throws -> APIResponse {
        try await api.postAnonymous("/v1/auth/login", ["tenant": tenant, "email": email, "password": password])
    }

    @Test func aUserLogsInAndTheAccessTokenWorksLikeAKey() async throws {
        try await Fixture.withAPI { api in
            let u = try await Self.user(api)
            let session = try await Self.login(api, u.tenant.slug, u.email, u.password)
            #expect(session.status == .ok, "\(session.text)")
            #expect(session.headers[.cacheControl] == "no-store")
            #expect(session["token_type"] == "Bearer" && (session.json["expires_in"] as? Int) == 900)
            let token = try #require(session["access_token"])
            let me = try await api.get("/v1/me", key: token)
            #expect(me["principal_id"] == u.id && me["kind"] == "user")
            #expect((me.json["roles"] as? [String]) == ["developer"])
            // Logging in with the email in other case works; the tenant's id works as well as its slug.
            #expect(try await Self.login(api, u.tenant.tenantID, u.email.uppercased(), u.password).status == .ok)
        }
    }

    @Test func wrongPasswordUnknownEmailAndUnknownTenantGetTheSameAnswer() async throws {
        try await Fixture.withAPI { api in
            let u = try await Self.user(api, prefix: "same")
            let answers = [
                try await Self.login(api, u.tenant.slug, u.email, "not the password at all"),
                try await Self.login(api, u.tenant.slug, "nobody@\(u.tenant.slug).example", u.password),
                try await Self.login(api, "no-such-tenant-\(u.tenant.slug)", u.email, u.password),
            ]
            for answer in answers {
                answer.expectProblem(.unauthorized, code: "invalid-credentials")
                #expect(answer["detail"] == answers[0]["detail"])
            }
        }
    }

    @Test func passwordPolicyIsEnforced() async throws {
        try await Fixture.withAPI { api in
            let u = try await Self.user(api, prefix: "pol")
            let path = "/v1/tenants/\(u.tenant.slug)/users/\(u.id)/password"
            for bad in ["short", u.email, u.email.uppercased() + "", "password1234", "aaaaaaaaaaaaaaaa", String(repeating: "x", count: 1025)] {
                let response = try await api.request(.put, path, key: u.tenant.adminKey, body: API.encode(["password": bad]))
                response.expectProblem(.badRequest, code: "invalid-input")
            }
        }
    }

    @Test func usersChangeTheirOwnPasswordWithTheCurrentOne() async throws {
        try await Fixture.withAPI { api in
            let u = try await Self.user(api, prefix: "chg")
            let token = try #require(try await Self.login(api, u.tenant.slug, u.email, u.password)["access_token"])
            let wrong = try await api.post("/v1/me/password", ["current_password": "not it at all!!", "new_password": "a brand new passphrase"], key: token)
            wrong.expectProblem(.badRequest)
            let changed = try await api.post("/v1/me/password", ["current_password": u.password, "new_password": "a brand new passphrase"], key: token)
            #expect(changed.status == .noContent, "\(changed.text)")
            try await Self.login(api, u.tenant.slug, u.email, u.password).expectProblem(.unauthorized)
            #expect(try await Self.login(api, u.tenant.slug, u.email, "a brand new passphrase").status == .ok)
            // Service accounts have no password to change.
            try await api.post("/v1/me/password", ["current_password": "x", "new_password": "y"], key: u.tenant.adminKey)
                .expectProblem(.forbidden, code: "not-a-user")
        }
    }

    @Test func refreshTokensRotateAndReuseRevokesTheFamily() async throws {
        try await Fixture.withAPI { api in
            let u = try await Self.user(api, prefix: "ref")
            let first = try #require(try await Self.login(api, u.tenant.slug, u.email, u.password)["refresh_token"])
            let second = try await api.postAnonymous("/v1/auth/refresh", ["refresh_token": first])
            #expect(second.status == .ok, "\(second.text)")
            let secondToken = try #require(second["refresh_token"])
            #expect(secondToken != first)
            let secondAccess = try #require(second["access_token"])
            #expect(try await api.get("/v1/me", key: secondAccess).status == .ok)

            // The spent token again: refused, and the newer one dies with it.
            try await api.postAnonymous("/v1/auth/refresh", ["refresh_token": first]).expectProblem(.unauthorized, code: "invalid-refresh-token")
            try await api.postAnonymous("/v1/auth/refresh", ["refresh_token": secondToken]).expectProblem(.unauthorized, code: "invalid-refresh-token")
            try await Fixture.jarvis().securityEvents.flush()
            let events = try await api.get("/v1/tenants/\(u.tenant.slug)/audit-events?action=auth.refresh_reuse", key: u.tenant.adminKey)
            #expect(events.items.count == 1)
        }
    }

    @Test func logoutAndDisablingEndSessions() async throws {
        try await Fixture.withAPI { api in
            let u = try await Self.user(api, prefix: "out")
            let a = try await Self.login(api, u.tenant.slug, u.email, u.password)
            #expect(try await api.postAnonymous("/v1/auth/logout", ["refresh_token": try #require(a["refresh_token"])]).status == .noContent)
            try await api.postAnonymous("/v1/auth/refresh", ["refresh_token": try #require(a["refresh_token"])]).expectProblem(.unauthorized)

            let b = try await Self.login(api, u.tenant.slug, u.email, u.password)
            let access = try #require(b["access_token"])
            _ = try await api.patch("/v1/tenants/\(u.tenant.slug)/users/\(u.id)", ["status": "disabled"], key: u.tenant.adminKey)
            try await api.get("/v1/me", key: access).expectProblem(.unauthorized, code: "principal-disabled")
            try await api.postAnonymous("/v1/auth/refresh", ["refresh_token": try #require(b["refresh_token"])]).expectProblem(.unauthorized)
            try await Self.login(api, u.tenant.slug, u.email, u.password).expectProblem(.unauthorized)
        }
    }

    @Test func suspendedAndDeletedTenantsTokensAreRefused() async throws {
        try await Fixture.withAPI { api in
            let u = try await Self.user(api, prefix: "gone")
            let session = try await Self.login(api, u.tenant.slug, u.email, u.password)
            let access = try #require(session["access_token"])
            _ = try await api.patch("/v1/tenants/\(u.tenant.slug)", ["status": "suspended"])
            try await api.get("/v1/me", key: access).expectProblem(.forbidden, code: "tenant-suspended")
            #expect(try await api.delete("/v1/tenants/\(u.tenant.slug)").status == .noContent)
            try await api.get("/v1/me", key: access).expectProblem(.unauthorized)
            try await api.postAnonymous("/v1/auth/refresh", ["refresh_token": try #require(session["refresh_token"])]).expectProblem(.unauthorized)
        }
    }

    @Test func jwksPublishesTheActiveKeyWithCacheHeaders() async throws {
        try await Fixture.withAPI { api in
            let u = try await Self.user(api, prefix: "jwks")
            let token = try #require(try await Self.login(api, u.tenant.slug, u.email, u.password)["access_token"])
            let header = try #require(token.split(separator: ".").first.flatMap { Base64URLTestDecode($0) })
            let kid = try #require(header["kid"] as? String)
            let jwks = try await api.request(.get, "/.well-known/jwks.json", key: nil)
            #expect(jwks.headers[.cacheControl] == "public, max-age=60")
            let keys = jwks.json["keys"] as? [[String: Any]] ?? []
            #expect(keys.contains { ($0["kid"] as? String) == kid && ($0["kty"] as? String) == "OKP" && ($0["crv"] as? String) == "Ed25519" })
            #expect(keys.allSatisfy { $0["d"] == nil }, "private key material published")
        }
    }
}

func Base64URLTestDecode(_ text: Substring) -> [String: Any]? {
    var s = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while s.count % 4 != 0 { s += "=" }
    guard let data = Data(base64Encoded: s) else { return nil }
    return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
}
