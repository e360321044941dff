import Foundation
import HTTPTypes
import JarvisIdentity
import JarvisHTTP
import JarvisStore
import Testing

@Suite struct APIKeyAPITests {
    @Test func aKeyIsShownOnceAndItsSecretIsNeverStoredOrListed() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "keys")
            let created = try await api.post(
                "/v1/tenants/\(t.slug)/api-keys", ["principal_id": t.adminID, "name": "deploy"], key: t.adminKey)
            #expect(created.status == .created)
            #expect(created.headers[.cacheControl] == "no-store")
            let text = try #require(created["key"])
            let token = try #require(APIKeyToken(parsing: text))
            #expect(created["key_id"] == token.keyID)
            let id = try #require(created["id"])

            let read = try await api.get("/v1/tenants/\(t.slug)/api-keys/\(id)", key: t.adminKey)
            #expect(read.json["key"] == nil)
            #expect(!read.text.contains(token.secret))
            let list = try await api.get("/v1/tenants/\(t.slug)/api-keys", key: t.adminKey)
            #expect(!list.text.contains(token.secret))
            let audit = try await api.get("/v1/tenants/\(t.slug)/audit-events?limit=500", key: t.adminKey)
            #expect(!audit.text.contains(token.secret))

            // Only HMAC(pepper, secret) is in the database.
            let stored = try await Fixture.platform.query("SELECT * FROM api_keys WHERE id = $1", [id])
            let row = try #require(stored.first)
            #expect(try row.bytes("secret_hash") == token.secretHash(pepper: Fixture.pepper))
            #expect(!stored.columns.contains { (try? row.string($0))?.contains(token.secret) == true })
        }
    }

    @Test func revokedAndExpiredKeysGet401ProblemJSON() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "rev")
            let (id, key) = try await api.principal(in: t, role: "viewer")
            let keys = try await api.get("/v1/tenants/\(t.slug)/api-keys?principal_id=\(id)", key: t.adminKey)
            let keyID = try #require(keys.items.first?["id"] as? String)

            #expect(try await api.get("/v1/me", key: key).status == .ok)
            let revoked = try await api.delete("/v1/tenants/\(t.slug)/api-keys/\(keyID)", key: t.adminKey)
            #expect(revoked.status == .ok && revoked["revoked_at"] != nil)
            let refused = try await api.get("/v1/me", key: key)
            refused.expectProblem(.unauthorized, code: "credential-revoked")
            #expect(refused.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            try await api.delete("/v1/tenants/\(t.slug)/api-keys/\(keyID)", key: t.adminKey).expectProblem(.conflict)

            // Three seconds of life (1.5 s was a tight window to create and use the key on a loaded
            // machine; the suite failed here once, unconfirmed why), then a wait until just past it.
            let soon = Date().addingTimeInterval(3)
            let expiring = try await api.post(
                "/v1/tenants/\(t.slug)/api-keys", ["principal_id": id, "name": "short", "expires_at": Timestamp.format(soon)], key: t.adminKey)
            let expiringKey = try #require(expiring["key"], "\(expiring.text)")
            #expect(try await api.get("/v1/me", key: expiringKey).status == .ok)
            try await Task.sleep(for: .seconds(max(0, soon.timeIntervalSinceNow) + 0.5))
            try await api.get("/v1/me", key: expiringKey).expectProblem(.unauthorized, code: "credential-expired")

            try await api.post(
                "/v1/tenants/\(t.slug)/api-keys", ["principal_id": id, "name": "past", "expires_at": "2020-01-01T00:00:00Z"],
                key: t.adminKey
            ).expectProblem(.badRequest)
        }
    }

    @Test(arguments: [
        nil, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer jvs_", "Bearer jvs_AAAAAAAAAAAAAAAA_short",
        "Bearer jvs_AAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "Bearer not-a-key", "Bearer eyJhbGciOiJub25lIn0.e30.",
    ])
    func malformedOrUnknownCredentialsGet401(authorization: String?) async throws {
        try await Fixture.withAPI { api in
            var headers: HTTPFields = [:]
            if let authorization { headers[.authorization] = authorization }
            let response = try await api.request(.get, "/v1/me", key: nil, headers: headers)
            response.expectProblem(.unauthorized)
        }
    }

    @Test func aWrongSecretForARealKeyIdIsRefused() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "forge")
            let token = try #require(APIKeyToken(parsing: t.adminKey))
            let forged = "jvs_\(token.keyID)_\(String(token.secret.reversed()))"
            try await api.get("/v1/me", key: forged).expectProblem(.unauthorized, code: "invalid-credential")
        }
    }

    @Test func keyUseIsRecordedLazily() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "used")
            let token = try #require(APIKeyToken(parsing: t.adminKey))
            _ = try await api.get("/v1/me", key: t.adminKey)
            let before = try await Fixture.platform.query("SELECT last_used_at FROM api_keys WHERE key_id = $1", [token.keyID])
            #expect(try before.first?.optionalDate("last_used_at") == nil, "use was written synchronously")
            try await Fixture.jarvis().lastUsed.flush()
            let after = try await Fixture.platform.query("SELECT last_used_at FROM api_keys WHERE key_id = $1", [token.keyID])
            #expect(try after.first?.optionalDate("last_used_at") != nil)
        }
    }
}
