import Foundation
import HTTPTypes
import Testing

/// "Never act on a principal stronger than yourself" covers every action that hands over a
/// principal's power or locks it out, not only key minting.
@Suite struct PrincipalGuardTests {
    @Test func aWeakAdministratorCannotTakeOverOrLockOutAStrongerPrincipal() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "guard")
            let base = "/v1/tenants/\(t.slug)"
            // A tenant admin user with a password, set by the real tenant admin.
            let email = "boss@\(t.slug).example"
            let boss = try #require(try await api.post("\(base)/users", ["email": email], key: t.adminKey)["id"])
            #expect(try await api.post("\(base)/role-bindings", ["principal_id": boss, "role": "tenant_admin"], key: t.adminKey).status == .created)
            let bossPassword = "the boss's own long passphrase"
            let set = try await api.request(.put, "\(base)/users/\(boss)/password", key: t.adminKey, body: API.encode(["password": bossPassword]))
            #expect(set.status == .noContent, "\(set.text)")
            let bossKeyID = try #require(try await api.post("\(base)/api-keys", ["principal_id": boss, "name": "boss"], key: t.adminKey)["id"])

            // A helpdesk account: may manage users, keys and quotas, holds little else.
            let role = ["name": "helpdesk", "permissions": ["admin:user", "admin:key", "admin:quota"], "inherits": ["viewer"]] as [String: any Sendable]
            #expect(try await api.post("\(base)/roles", role, key: t.adminKey).status == .created)
            let (_, helpdesk) = try await api.principal(in: t, role: "helpdesk")

            let takeover = "a password the helpdesk chose"
            try await api.request(.put, "\(base)/users/\(boss)/password", key: helpdesk, body: API.encode(["password": takeover]))
                .expectProblem(.forbidden, code: "principal-stronger")
            try await IdentityAPITests.login(api, t.slug, email, takeover).expectProblem(.unauthorized)
            try await api.patch("\(base)/users/\(boss)", ["status": "disabled"], key: helpdesk).expectProblem(.forbidden, code: "principal-stronger")
            try await api.patch("\(base)/users/\(boss)", ["email": "helpdesk@\(t.slug).example"], key: helpdesk)
                .expectProblem(.forbidden, code: "principal-stronger")
            try await api.delete("\(base)/api-keys/\(bossKeyID)", key: helpdesk).expectProblem(.forbidden, code: "principal-stronger")
            try await api.post("\(base)/api-keys", ["principal_id": boss, "name": "steal"], key: helpdesk).expectProblem(.forbidden)
            try await api.post("\(base)/quotas", ["subject_kind": "principal", "subject_id": boss, "metric": "requests", "limit": 0], key: helpdesk)
                .expectProblem(.forbidden, code: "principal-stronger")
            try await api.post("\(base)/quotas", ["subject_kind": "api_key", "subject_id": bossKeyID, "metric": "requests", "limit": 0], key: helpdesk)
                .expectProblem(.forbidden, code: "principal-stronger")

            // Nothing changed: the boss still logs in with their own password and is active.
            #expect(try await IdentityAPITests.login(api, t.slug, email, bossPassword).status == .ok)
            #expect(try await api.get("\(base)/users/\(boss)", key: t.adminKey)["status"] == "active")
            #expect(try await api.get("\(base)/api-keys/\(bossKeyID)", key: t.adminKey).json["revoked_at"] == nil)

            // Principals no stronger than the helpdesk are its to manage.
            let clerkEmail = "clerk@\(t.slug).example"
            let clerk = try #require(try await api.post("\(base)/users", ["email": clerkEmail], key: helpdesk)["id"])
            #expect(try await api.post("\(base)/role-bindings", ["principal_id": clerk, "role": "viewer"], key: t.adminKey).status == .created)
            let reset = try await api.request(.put, "\(base)/users/\(clerk)/password", key: helpdesk, body: API.encode(["password": takeover]))
            #expect(reset.status == .noContent, "\(reset.text)")
            let clerkKey = try #require(try await api.post("\(base)/api-keys", ["principal_id": clerk, "name": "c"], key: t.adminKey)["id"])
            #expect(try await api.delete("\(base)/api-keys/\(clerkKey)", key: helpdesk).status == .ok)
            #expect(try await api.patch("\(base)/users/\(clerk)", ["status": "disabled"], key: helpdesk).status == .ok)
        }
    }
}
