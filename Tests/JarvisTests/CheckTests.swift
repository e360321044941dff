import Foundation
import HTTPTypes
import JarvisAccess
import Testing

@Suite struct CheckTests {
    /// A platform service account allowed to check every tenant's credentials (a gateway).
    static func gateway(_ api: API) async throws -> String {
        let name = "gateway_\(UUID().uuidString.prefix(8).lowercased())"
        let role = try await api.post("/v1/tenants/platform/roles", ["name": "checker_\(name)", "permissions": ["check:invoke"]])
        try #require(role.status == .created, "\(role.text)")
        let account = try await api.post("/v1/tenants/platform/service-accounts", ["name": name])
        let id = try #require(account["id"])
        _ = try await api.post("/v1/tenants/platform/role-bindings", ["principal_id": id, "role": "checker_\(name)"])
        return try #require(try await api.post("/v1/tenants/platform/api-keys", ["principal_id": id, "name": "gw"])["key"])
    }

    static func check(_ api: API, _ body: [String: any Sendable], key: String) async throws -> APIResponse {
        try await api.post("/v1/check", body, key: key)
    }

    @Test func aBatchMixingTenantsIsAnsweredItemByItem() async throws {
        try await Fixture.withAPI { api in
            let gateway = try await Self.gateway(api)
            let a = try await api.seedTenant(prefix: "chk-a")
            let b = try await api.seedTenant(prefix: "chk-b")
            let (viewerID, viewer) = try await api.principal(in: a, role: "viewer")
            let (_, developer) = try await api.principal(in: b, role: "developer")
            let response = try await Self.check(api, ["items": [
                ["credential": viewer, "permission": "documents:read"],
                ["credential": viewer, "permission": "documents:write"],
                ["credential": developer, "permission": "documents:write", "resource": "doc-1"],
                ["credential": "jvs_AAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "permission": "documents:read"],
                ["credential": viewer, "permission": "not a permission"],
            ]], key: gateway)
            #expect(response.status == .ok, "\(response.text)")
            let items = response.items
            #expect(items.count == 5)
            #expect(items[0]["allowed"] as? Bool == true && items[0]["tenant_id"] as? String == a.tenantID)
            #expect(items[0]["principal_id"] as? String == viewerID && items[0]["principal_kind"] as? String == "service_account")
            #expect(items[1]["allowed"] as? Bool == false && items[1]["reason"] as? String == "permission_denied")
            #expect(items[2]["allowed"] as? Bool == true && items[2]["tenant_id"] as? String == b.tenantID)
            #expect(items[3]["reason"] as? String == "invalid_credential" && items[3]["tenant_id"] == nil)
            #expect(items[4]["reason"] as? String == "invalid_permission")
            // One check without the batch wrapper is answered without it.
            let single = try await Self.check(api, ["credential": viewer, "permission": "chat:read"], key: gateway)
            #expect(single["allowed"] == nil && single.json["allowed"] as? Bool == true)
        }
    }

    /// A batch's uncached keys are looked up together (concurrently): each answer still belongs to
    /// its own item, a repeated key and a refused one included, and quota draws go in item order.
    @Test func aColdBatchIsAnsweredInItsItemsOrder() async throws {
        try await Fixture.withAPI { api in
            let gateway = try await Self.gateway(api)
            let t = try await api.seedTenant(prefix: "chk-cold")
            var principals: [(id: String, key: String, role: String)] = []
            for n in 0..<36 {
                let role = n % 3 == 0 ? "viewer" : "developer"
                let (id, key) = try await api.principal(in: t, role: role)
                principals.append((id, key, role))
            }
            let (revokedID, revoked) = try await api.principal(in: t, role: "developer")
            let keys = try await api.get("/v1/tenants/\(t.slug)/api-keys?principal_id=\(revokedID)", key: t.adminKey)
            let revokedRecord = try #require(keys.items.first?["id"] as? String)
            #expect(try await api.delete("/v1/tenants/\(t.slug)/api-keys/\(revokedRecord)", key: t.adminKey).status == .ok)
            // One request a second with a burst of 20: of the 25 items that draw, the first 20 pass.
            #expect(try await api.post("/v1/tenants/\(t.slug)/quotas", ["metric": "requests", "limit": 1, "burst": 20], key: t.adminKey).status == .created)

            var items: [[String: any Sendable]] = principals.map { ["credential": $0.key, "permission": "documents:write", "quota": ["requests": 1]] }
            items.insert(["credential": revoked, "permission": "documents:write", "quota": ["requests": 1]], at: 5)
            items.insert(["credential": principals[1].key, "permission": "documents:write", "quota": ["requests": 1]], at: 9)
            items.insert(["credential": "jvs_AAAAAAAAAAAAAAAA_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "permission": "documents:write"], at: 12)
            let response = try await Self.check(api, ["items": items], key: gateway)
            #expect(response.status == .ok, "\(response.text)")
            let answers = response.items
            try #require(answers.count == 39)
            var expected = principals.map { Optional($0) }
            expected.insert(nil, at: 5)
            expected.insert(principals[1], at: 9)
            expected.insert(nil, at: 12)
            var drawn = 0
            for (index, (answer, owner)) in zip(answers, expected).enumerated() {
                guard let owner else {
                    #expect(answer["reason"] as? String == (index == 5 ? "revoked" : "invalid_credential"), "item \(index)")
                    continue
                }
                #expect(answer["principal_id"] as? String == owner.id, "item \(index)")
                if owner.role == "viewer" {
                    #expect(answer["reason"] as? String == "permission_denied", "item \(index)")
                    continue
                }
                drawn += 1
                if drawn <= 20 {
                    #expect(answer["allowed"] as? Bool == true, "item \(index): \(answer)")
                } else {
                    #expect(answer["reason"] as? String == "quota_requests", "item \(index): \(answer)")
                }
            }
            #expect(drawn > 20)
        }
    }

    /// Role graphs are kept a while for the keys loaded after them: a changed custom role must reach
    /// a key loaded right after the change as well as one cached before it.
    @Test func aChangedCustomRoleReachesKeysLoadedAfterIt() async throws {
        try await Fixture.withAPI { api in
            let gateway = try await Self.gateway(api)
            let t = try await api.seedTenant(prefix: "chk-graph")
            let base = "/v1/tenants/\(t.slug)"
            #expect(try await api.post("\(base)/roles", ["name": "reader", "permissions": ["documents:read"]], key: t.adminKey).status == .created)
            let (_, first) = try await api.principal(in: t, role: "reader")
            let (_, second) = try await api.principal(in: t, role: "reader")
            func allowed(_ key: String) async throws -> Bool? {
                try await Self.check(api, ["credential": key, "permission": "documents:write"], key: gateway).json["allowed"] as? Bool
            }
            #expect(try await allowed(first) == false)
            let updated = try await api.patch("\(base)/roles/reader", ["permissions": ["documents:read", "documents:write"]], key: t.adminKey)
            #expect(updated.status == .ok, "\(updated.text)")
            #expect(try await allowed(second) == true, "a key loaded after the change was judged by the old graph")
            #expect(try await allowed(first) == true)
        }
    }

    @Test func aPermissionNoOneHeldBeforeIsAllowedOnItsFirstCheck() async throws {
        try await Fixture.withAPI { api in
            let gateway = try await Self.gateway(api)
            let t = try await api.seedTenant(prefix: "chk-new")
            // A name this process has never seen: the first load of the subject is what interns it.
            // Everything is set up by the super admin, whose `*` interns no tenant names (a tenant
            // admin's load would intern it first and hide the race this test is about).
            let fresh = "fresh\(UUID().uuidString.prefix(8).lowercased()):read"
            let base = "/v1/tenants/\(t.slug)"
            #expect(try await api.post("\(base)/permissions", ["name": fresh]).status == .created)
            #expect(try await api.post("\(base)/roles", ["name": "fresh_reader", "permissions": [fresh]]).status == .created)
            let id = try #require(try await api.post("\(base)/service-accounts", ["name": "fresh"])["id"])
            #expect(try await api.post("\(base)/role-bindings", ["principal_id": id, "role": "fresh_reader"]).status == .created)
            let key = try #require(try await api.post("\(base)/api-keys", ["principal_id": id, "name": "k"])["key"])
            #expect(PermissionIDs.shared.probe(fresh)?.exact == -1, "something interned the name before the check")
            let first = try await Self.check(api, ["credential": key, "permission": fresh], key: gateway)
            #expect(first.json["allowed"] as? Bool == true, "\(first.text)")
        }
    }

    @Test func everyDenialSaysWhy() async throws {
        try await Fixture.withAPI { api in
            let gateway = try await Self.gateway(api)
            let t = try await api.seedTenant(prefix: "chk-why")
            let (id, key) = try await api.principal(in: t, role: "viewer")
            let keys = try await api.get("/v1/tenants/\(t.slug)/api-keys?principal_id=\(id)", key: t.adminKey)
            let keyRecord = try #require(keys.items.first?["id"] as? String)
            func reason() async throws -> String? {
                try await Self.check(api, ["credential": key, "permission": "documents:read"], key: gateway)["reason"]
            }
            #expect(try await reason() == nil)
            _ = try await api.patch("/v1/tenants/\(t.slug)", ["status": "suspended"])
            #expect(try await reason() == "tenant_suspended")
            _ = try await api.patch("/v1/tenants/\(t.slug)", ["status": "active"])
            _ = try await api.patch("/v1/tenants/\(t.slug)/service-accounts/\(id)", ["status": "disabled"], key: t.adminKey)
            #expect(try await reason() == "principal_disabled")
            _ = try await api.patch("/v1/tenants/\(t.slug)/service-accounts/\(id)", ["status": "active"], key: t.adminKey)
            #expect(try await reason() == nil)
            _ = try await api.delete("/v1/tenants/\(t.slug)/api-keys/\(keyRecord)", key: t.adminKey)
            #expect(try await reason() == "revoked")
        }
    }

    @Test func tenantCallersCheckOnlyTheirOwnTenant() async throws {
        try await Fixture.withAPI { api in
            let a = try await api.seedTenant(prefix: "chk-own")
            let b = try await api.seedTenant(prefix: "chk-other")
            _ = try await api.post("/v1/tenants/\(a.slug)/roles", ["name": "checker", "permissions": ["check:invoke"]], key: a.adminKey)
            let (_, checker) = try await api.principal(in: a, role: "checker")
            let (_, mine) = try await api.principal(in: a, role: "viewer")
            let (_, theirs) = try await api.principal(in: b, role: "viewer")
            let own = try await Self.check(api, ["credential": mine, "permission": "documents:read"], key: checker)
            #expect(own.json["allowed"] as? Bool == true)
            let other = try await Self.check(api, ["credential": theirs, "permission": "documents:read"], key: checker)
            #expect(other.json["allowed"] as? Bool == false && other["reason"] == "invalid_credential" && other["tenant_id"] == nil)
            // Without check:invoke there is no checking at all.
            try await Self.check(api, ["credential": mine, "permission": "documents:read"], key: mine).expectProblem(.forbidden)
        }
    }

    @Test func accessTokensAreCheckedLikeKeys() async throws {
        try await Fixture.withAPI { api in
            let gateway = try await Self.gateway(api)
            let u = try await IdentityAPITests.user(api, prefix: "chk-jwt")
            let token = try #require(try await IdentityAPITests.login(api, u.tenant.slug, u.email, u.password)["access_token"])
            let allowed = try await Self.check(api, ["credential": token, "permission": "documents:write"], key: gateway)
            #expect(allowed.json["allowed"] as? Bool == true && allowed["principal_kind"] == "user")
            let forged = String(token.dropLast(2)) + (token.hasSuffix("AA") ? "BB" : "AA")
            #expect(try await Self.check(api, ["credential": forged, "permission": "documents:write"], key: gateway)["reason"] == "invalid_credential")
        }
    }

    @Test(arguments: [
        #"{"credential":"x"}"#, #"{"credential":"x","permission":"a:b"} trailing"#, #"{"items":[]}"#,
        #"{"items":[{"credential":"x","permission":"a:b"}],"credential":"x"}"#, #"{"credential":1,"permission":"a:b"}"#,
        #"{"credential":"x","permission":"a:b","extra":"y"}"#, #"{"credential":"\ud800","permission":"a:b"}"#, #"[]"#, #""#,
        #"{"credential":"x","credential":"y","permission":"a:b"}"#,
    ])
    func malformedBodiesAre400(body: String) async throws {
        try await Fixture.withAPI { api in
            try await api.request(.post, "/v1/check", key: api.adminKey, body: body).expectProblem(.badRequest)
        }
    }

    @Test func batchesAreLimitedTo100AndEscapesAreDecoded() async throws {
        try await Fixture.withAPI { api in
            let items = (0..<101).map { _ in ["credential": "x", "permission": "a:b"] }
            try await api.post("/v1/check", ["items": items]).expectProblem(.badRequest)
            let t = try await api.seedTenant(prefix: "chk-esc")
            // The key written with \u escapes and an escaped slash in the permission's JSON.
            let escaped = t.adminKey.unicodeScalars.map { String(format: "\\u%04x", $0.value) }.joined()
            let body = #"{"credential":"\#(escaped)","permission":"admin:user"}"#
            let response = try await api.request(.post, "/v1/check", key: api.adminKey, body: body)
            #expect(response.json["allowed"] as? Bool == true, "\(response.text)")
        }
    }

    @Test func theHotPathKeepsTheAPIConventions() async throws {
        try await Fixture.withAPI { api in
            let id = HTTPField.Name("X-Request-Id")!
            try await api.request(.get, "/v1/check", key: api.adminKey).expectProblem(.methodNotAllowed)
            try await api.request(.put, "/v1/authz", key: api.adminKey).expectProblem(.methodNotAllowed)
            let anonymous = try await api.request(.post, "/v1/check", key: nil, body: #"{"credential":"x","permission":"a:b"}"#)
            anonymous.expectProblem(.unauthorized, code: "unauthenticated")
            let traced = try await api.request(
                .post, "/v1/check", key: api.adminKey, body: #"{"credential":"x","permission":"a:b"}"#, headers: [id: "trace-9"])
            #expect(traced.status == .ok && traced.headers[id] == "trace-9")
            let generated = try await api.request(.post, "/v1/check", key: api.adminKey, body: #"{"credential":"x","permission":"a:b"}"#)
            let other = try await api.request(.post, "/v1/check", key: api.adminKey, body: #"{"credential":"x","permission":"a:b"}"#)
            #expect(generated.headers[id] != nil && generated.headers[id] != other.headers[id])
        }
    }
}
