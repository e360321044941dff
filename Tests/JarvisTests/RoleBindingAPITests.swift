import Foundation
import HTTPTypes
import Testing

@Suite struct RoleBindingAPITests {
    @Test func tenantAdminsGrantAndRevokeTheRolesTheyHold() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "grant")
            let (id, key) = try await api.principal(in: t, role: nil)
            try await api.get("/v1/tenants/\(t.slug)/users", key: key).expectProblem(.forbidden)
            let binding = try await api.post(
                "/v1/tenants/\(t.slug)/role-bindings", ["principal_id": id, "role": "tenant_admin"], key: t.adminKey)
            #expect(binding.status == .created)
            #expect(try await api.get("/v1/tenants/\(t.slug)/users", key: key).status == .ok)
            try await api.post("/v1/tenants/\(t.slug)/role-bindings", ["principal_id": id, "role": "tenant_admin"], key: t.adminKey)
                .expectProblem(.conflict)
            let bindingID = try #require(binding["id"])
            #expect(try await api.delete("/v1/tenants/\(t.slug)/role-bindings/\(bindingID)", key: t.adminKey).status == .noContent)
            try await api.get("/v1/tenants/\(t.slug)/users", key: key).expectProblem(.forbidden)
        }
    }

    @Test func nobodyButSuperAdminsGrantsSuperAdminAndOnlyToPlatformPrincipals() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "esc")
            // A tenant admin, to itself or anyone.
            try await api.post("/v1/tenants/\(t.slug)/role-bindings", ["principal_id": t.adminID, "role": "super_admin"], key: t.adminKey)
                .expectProblem(.forbidden, code: "super-admin-reserved")
            // A super admin, to a tenant's principal.
            try await api.post("/v1/tenants/\(t.slug)/role-bindings", ["principal_id": t.adminID, "role": "super_admin"])
                .expectProblem(.forbidden, code: "super-admin-reserved")
            // A tenant admin cannot reach the platform tenant at all.
            try await api.get("/v1/tenants/platform/service-accounts", key: t.adminKey).expectProblem(.notFound)
        }
    }

    @Test func aDeveloperWithoutAdminRoleCannotGrantAnything() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "dev")
            let (id, key) = try await api.principal(in: t, role: "developer")
            try await api.post("/v1/tenants/\(t.slug)/role-bindings", ["principal_id": id, "role": "tenant_admin"], key: key)
                .expectProblem(.forbidden, code: "forbidden")
            try await api.post("/v1/tenants/\(t.slug)/role-bindings", ["principal_id": id, "role": "viewer"], key: key)
                .expectProblem(.forbidden)
        }
    }

    @Test func unknownRolesAreRefused() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "unk")
            try await api.post("/v1/tenants/\(t.slug)/role-bindings", ["principal_id": t.adminID, "role": "wizard"], key: t.adminKey)
                .expectProblem(.badRequest, code: "invalid-input")
        }
    }

    @Test func theBuiltInRolesCarryTheDesignsHierarchy() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "roles")
            let roles = try await api.get("/v1/tenants/\(t.slug)/roles", key: t.adminKey).items
            let byName = Dictionary(uniqueKeysWithValues: roles.map { ($0["name"] as! String, $0) })
            #expect(Set(byName.keys).isSuperset(of: ["super_admin", "tenant_admin", "developer", "operator", "viewer"]))
            let admin = Set(byName["tenant_admin"]?["permissions"] as? [String] ?? [])
            for lesser in ["developer", "operator", "viewer"] {
                let permissions = Set(byName[lesser]?["permissions"] as? [String] ?? [])
                #expect(!permissions.isEmpty && permissions.isSubset(of: admin), "\(lesser) ⊄ tenant_admin")
            }
            #expect(admin.contains("admin:user") && admin.contains("audit:read"))
        }
    }
}
