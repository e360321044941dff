import Foundation
import HTTPTypes
import Testing

/// A tenant admin probing another tenant gets 404 everywhere: existence does not leak.
@Suite struct IsolationAPITests {
    @Test func tenantAsAdminGets404ForEveryObjectOfTenantB() async throws {
        try await Fixture.withAPI { api in
            let a = try await api.seedTenant(prefix: "iso-a")
            let b = try await api.seedTenant(prefix: "iso-b")
            let user = try await api.post("/v1/tenants/\(b.slug)/users", ["email": "victim@b.example"], key: b.adminKey)
            let userID = try #require(user["id"])
            let keys = try await api.get("/v1/tenants/\(b.slug)/api-keys", key: b.adminKey)
            let keyID = try #require(keys.items.first?["id"] as? String)
            let bindings = try await api.get("/v1/tenants/\(b.slug)/role-bindings", key: b.adminKey)
            let bindingID = try #require(bindings.items.first?["id"] as? String)

            // B's objects addressed under B, by slug and by id.
            for tenantRef in [b.slug, b.tenantID] {
                let prefix = "/v1/tenants/\(tenantRef)"
                let reads = [
                    "", "/users", "/users/\(userID)", "/service-accounts", "/service-accounts/\(b.adminID)",
                    "/api-keys", "/api-keys/\(keyID)", "/roles", "/role-bindings", "/audit-events",
                ]
                for path in reads {
                    try await api.get(prefix + path, key: a.adminKey).expectProblem(.notFound)
                }
                try await api.post(prefix + "/users", ["email": "x@y.example"], key: a.adminKey).expectProblem(.notFound)
                try await api.post(prefix + "/service-accounts", ["name": "x"], key: a.adminKey).expectProblem(.notFound)
                try await api.post(prefix + "/api-keys", ["principal_id": b.adminID, "name": "steal"], key: a.adminKey).expectProblem(.notFound)
                try await api.post(prefix + "/role-bindings", ["principal_id": userID, "role": "viewer"], key: a.adminKey).expectProblem(.notFound)
                try await api.patch(prefix + "/users/\(userID)", ["status": "disabled"], key: a.adminKey).expectProblem(.notFound)
                try await api.patch(prefix + "/service-accounts/\(b.adminID)", ["name": "pwned"], key: a.adminKey).expectProblem(.notFound)
                try await api.delete(prefix + "/api-keys/\(keyID)", key: a.adminKey).expectProblem(.notFound)
                try await api.delete(prefix + "/role-bindings/\(bindingID)", key: a.adminKey).expectProblem(.notFound)
            }
            // B's object ids addressed under A's own tenant: row-level security hides them.
            let mine = "/v1/tenants/\(a.slug)"
            try await api.get(mine + "/users/\(userID)", key: a.adminKey).expectProblem(.notFound)
            try await api.get(mine + "/service-accounts/\(b.adminID)", key: a.adminKey).expectProblem(.notFound)
            try await api.get(mine + "/api-keys/\(keyID)", key: a.adminKey).expectProblem(.notFound)
            try await api.patch(mine + "/users/\(userID)", ["status": "disabled"], key: a.adminKey).expectProblem(.notFound)
            try await api.delete(mine + "/api-keys/\(keyID)", key: a.adminKey).expectProblem(.notFound)
            try await api.delete(mine + "/role-bindings/\(bindingID)", key: a.adminKey).expectProblem(.notFound)
            try await api.post(mine + "/api-keys", ["principal_id": b.adminID, "name": "steal"], key: a.adminKey).expectProblem(.notFound)
            try await api.post(mine + "/role-bindings", ["principal_id": userID, "role": "viewer"], key: a.adminKey).expectProblem(.notFound)
            #expect(try await api.get(mine + "/api-keys?principal_id=\(b.adminID)", key: a.adminKey).items.isEmpty)
            #expect(try await api.get(mine + "/audit-events?actor_id=\(b.adminID)", key: a.adminKey).items.isEmpty)

            // Nothing of B changed.
            let after = try await api.get("/v1/tenants/\(b.slug)/users/\(userID)", key: b.adminKey)
            #expect(after["status"] == "active")
            #expect(try await api.get("/v1/tenants/\(b.slug)/api-keys/\(keyID)", key: b.adminKey).json["revoked_at"] == nil)
            #expect(try await api.get("/v1/me", key: b.adminKey).status == .ok)
        }
    }
}
