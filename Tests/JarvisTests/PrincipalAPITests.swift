import Foundation
import JarvisAudit
import JarvisHTTP
import HTTPTypes
import Testing

@Suite struct PrincipalAPITests {
    @Test func usersAreCreatedListedReadUpdatedAndDisabled() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "users")
            let path = "/v1/tenants/\(t.slug)/users"
            let created = try await api.post(path, ["email": "Ada@Example.com", "display_name": "Ada"], key: t.adminKey)
            #expect(created.status == .created)
            let id = try #require(created["id"])
            #expect(created["email"] == "Ada@Example.com" && created["display_name"] == "Ada" && created["status"] == "active")
            #expect(created.headers[.location] == "/v1/tenants/\(t.tenantID)/users/\(id)")
            #expect(try await api.get("\(path)/\(id)", key: t.adminKey)["email"] == "Ada@Example.com")
            #expect(try await api.get(path, key: t.adminKey).items.contains { ($0["id"] as? String) == id })

            let renamed = try await api.patch("\(path)/\(id)", ["display_name": "Ada L."], key: t.adminKey)
            #expect(renamed["display_name"] == "Ada L.")
            let disabled = try await api.patch("\(path)/\(id)", ["status": "disabled"], key: t.adminKey)
            #expect(disabled["status"] == "disabled")
            #expect(try await api.get("\(path)?status=disabled", key: t.adminKey).items.count == 1)
            // A user is not a service account.
            try await api.get("/v1/tenants/\(t.slug)/service-accounts/\(id)", key: t.adminKey).expectProblem(.notFound)
        }
    }

    @Test func emailsAreUniquePerTenantIgnoringCase() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "email")
            let other = try await api.seedTenant(prefix: "email2")
            let path = "/v1/tenants/\(t.slug)/users"
            #expect(try await api.post(path, ["email": "grace@example.com"], key: t.adminKey).status == .created)
            try await api.post(path, ["email": "GRACE@example.com"], key: t.adminKey).expectProblem(.conflict, code: "conflict")
            // Another tenant may have the same address.
            #expect(try await api.post("/v1/tenants/\(other.slug)/users", ["email": "grace@example.com"], key: other.adminKey).status == .created)
        }
    }

    @Test(arguments: [
        #"{"email": "not-an-email"}"#, #"{"email": 42}"#, #"{"email": null}"#, #"{}"#, #"{"email": "a@b.example", "role": "admin"}"#,
        #"["email"]"#, #"not json"#, #""#, #"{"email": "a@b.example", "display_name": ""}"#,
    ])
    func badUserInputIsA400ThatWritesNothing(body: String) async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "bad")
            let before = try await api.get("/v1/tenants/\(t.slug)/audit-events?category=operation&limit=500", key: t.adminKey).items.count
            let response = try await api.request(.post, "/v1/tenants/\(t.slug)/users", key: t.adminKey, body: body)
            response.expectProblem(.badRequest, code: "invalid-input")
            #expect(try await api.get("/v1/tenants/\(t.slug)/users", key: t.adminKey).items.isEmpty)
            #expect(try await api.get("/v1/tenants/\(t.slug)/audit-events?category=operation&limit=500", key: t.adminKey).items.count == before)
        }
    }

    @Test func serviceAccountsHaveNamesAndDescriptions() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "sa")
            let path = "/v1/tenants/\(t.slug)/service-accounts"
            let created = try await api.post(path, ["name": "ingest", "description": "Ingest pipeline"], key: t.adminKey)
            #expect(created.status == .created && created["description"] == "Ingest pipeline")
            try await api.post(path, ["name": "INGEST"], key: t.adminKey).expectProblem(.conflict)
            try await api.post(path, ["name": "x", "email": "a@b.example"], key: t.adminKey).expectProblem(.badRequest)
        }
    }

    @Test func aDisabledPrincipalsKeysStopWorkingAtOnce() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "dis")
            let (id, key) = try await api.principal(in: t, role: "viewer")
            #expect(try await api.get("/v1/me", key: key).status == .ok)
            _ = try await api.patch("/v1/tenants/\(t.slug)/service-accounts/\(id)", ["status": "disabled"], key: t.adminKey)
            try await api.get("/v1/me", key: key).expectProblem(.unauthorized, code: "principal-disabled")
            // Disabled principals get no new keys either.
            try await api.post("/v1/tenants/\(t.slug)/api-keys", ["principal_id": id, "name": "again"], key: t.adminKey)
                .expectProblem(.conflict)
        }
    }

    @Test func viewersCannotManageUsers() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "view")
            let (_, key) = try await api.principal(in: t, role: "viewer")
            try await api.post("/v1/tenants/\(t.slug)/users", ["email": "x@y.example"], key: key).expectProblem(.forbidden, code: "forbidden")
            try await api.get("/v1/tenants/\(t.slug)/users", key: key).expectProblem(.forbidden)
            try await api.get("/v1/tenants/\(t.slug)/audit-events", key: key).expectProblem(.forbidden)
            #expect(try await api.get("/v1/tenants/\(t.slug)/roles", key: key).status == .ok)
            // Each refusal is a security event in the viewer's tenant.
            try await Fixture.jarvis().securityEvents.flush()
            let denied = try await api.get("/v1/tenants/\(t.slug)/audit-events?action=access.denied", key: t.adminKey)
            #expect(denied.items.count == 3)
            #expect(Set(denied.items.compactMap { $0["target_id"] as? String }) == ["admin:user", "audit:read"])
            #expect(denied.items.allSatisfy { ($0["outcome"] as? String) == "denied" })
        }
    }
}
