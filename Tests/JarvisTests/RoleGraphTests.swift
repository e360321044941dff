import HTTPTypes
import JarvisAccess
import Testing

@Suite struct RoleGraphTests {
    static func node(_ name: String, _ permissions: [Permission], inherits: [String] = []) -> RoleGraph.Node {
        RoleGraph.Node(name: name, permissions: permissions, inherits: inherits, builtin: false)
    }

    @Test func permissionsFlowDownInheritanceThreeLevelsDeep() throws {
        let graph = RoleGraph(custom: [
            Self.node("reader", ["reports:read"]),
            Self.node("writer", ["reports:write"], inherits: ["reader"]),
            Self.node("lead", ["reports:approve"], inherits: ["writer", "developer"]),
        ])
        try graph.validate()
        let lead = graph.effectivePermissions(of: "lead")
        for p: Permission in ["reports:read", "reports:write", "reports:approve", "documents:write", "tenant:read"] {
            #expect(lead.allows(p), "\(p)")
        }
        #expect(!lead.allows("admin:user"))
        #expect(graph.effectivePermissions(of: "reader").names == ["reports:read"])
        #expect(graph.explain("tenant:read", roles: ["lead"]) == [["lead", "developer", "viewer"]])
    }

    @Test func wildcardsCoverTheirResourceAndStarCoversAll() {
        let graph = RoleGraph(custom: [Self.node("docs", ["documents:*"])])
        let docs = graph.effectivePermissions(of: "docs")
        #expect(docs.allows("documents:delete") && docs.allows("documents:read"))
        #expect(!docs.allows("chat:read"))
        #expect(PermissionSet(["*"]).covers(docs))
        #expect(!docs.covers(PermissionSet(["documents:read", "chat:read"])))
        #expect(!PermissionSet(["documents:read"]).covers(docs), "a specific permission does not cover the wildcard")
    }

    @Test func cyclesAreRefusedNamingTheLoop() {
        let graph = RoleGraph(custom: [
            Self.node("a", [], inherits: ["b"]), Self.node("b", [], inherits: ["c"]), Self.node("c", [], inherits: ["a"]),
        ])
        #expect(throws: AccessError.self) { try graph.validate() }
        do {
            try graph.validate()
        } catch {
            guard case .cycle(let path) = error else { Issue.record("got \(error)"); return }
            #expect(path.first == path.last && Set(path) == ["a", "b", "c"])
        }
        #expect(throws: AccessError.self) { try RoleGraph(custom: [Self.node("self", [], inherits: ["self"])]).validate() }
        #expect(throws: AccessError.unknownRole("ghost")) { try RoleGraph(custom: [Self.node("x", [], inherits: ["ghost"])]).validate() }
    }

    @Test func builtInsKeepTheDesignsHierarchy() {
        let graph = RoleGraph.builtin
        let admin = graph.effectivePermissions(of: "tenant_admin")
        for lesser in ["developer", "operator", "viewer"] { #expect(admin.covers(graph.effectivePermissions(of: lesser))) }
        #expect(graph.effectivePermissions(of: "super_admin").allows("platform:tenants"))
        #expect(!admin.allows("platform:tenants"))
    }
}

@Suite struct CustomRoleAPITests {
    @Test func customRolesInheritAndGrantWhatTheyCarry() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "roles")
            let base = "/v1/tenants/\(t.slug)"
            #expect(try await api.post("\(base)/permissions", ["name": "reports:approve", "description": "Approve reports"], key: t.adminKey).status == .created)
            let role = try await api.post("\(base)/roles", ["name": "team_lead", "permissions": ["reports:approve"], "inherits": ["developer"]], key: t.adminKey)
            #expect(role.status == .created, "\(role.text)")
            #expect((role.json["permissions"] as? [String])?.contains("documents:write") == true)
            #expect((role.json["own_permissions"] as? [String]) == ["reports:approve"])

            let (id, key) = try await api.principal(in: t, role: "team_lead")
            let me = try await api.get("/v1/me", key: key)
            #expect((me.json["permissions"] as? [String])?.contains("reports:approve") == true)

            let explained = try await api.get("\(base)/principals/\(id)/permissions?permission=tenant:read", key: t.adminKey)
            let explanation = explained.json["explanation"] as? [String: Any]
            #expect(explanation?["allowed"] as? Bool == true)
            #expect((explanation?["granted_by"] as? [[String]]) == [["team_lead", "developer", "viewer"]])
            let denied = try await api.get("\(base)/principals/\(id)/permissions?permission=admin:user", key: t.adminKey)
            #expect((denied.json["explanation"] as? [String: Any])?["allowed"] as? Bool == false)

            // Unknown permissions, cycles and built-in names are refused.
            try await api.post("\(base)/roles", ["name": "bad", "permissions": ["nuclear:launch"]], key: t.adminKey).expectProblem(.badRequest)
            _ = try await api.post("\(base)/roles", ["name": "loop_a", "permissions": ["documents:read"]], key: t.adminKey)
            _ = try await api.post("\(base)/roles", ["name": "loop_b", "inherits": ["loop_a"]], key: t.adminKey)
            try await api.patch("\(base)/roles/loop_a", ["inherits": ["loop_b"]], key: t.adminKey).expectProblem(.badRequest, code: "role-cycle")
            try await api.post("\(base)/roles", ["name": "viewer"], key: t.adminKey).expectProblem(.conflict, code: "builtin-role")
            try await api.patch("\(base)/roles/developer", ["permissions": ["admin:user"]], key: t.adminKey).expectProblem(.conflict, code: "builtin-role")
            try await api.delete("\(base)/roles/viewer", key: t.adminKey).expectProblem(.conflict, code: "builtin-role")
            try await api.post("\(base)/roles", ["name": "team_lead"], key: t.adminKey).expectProblem(.conflict)
        }
    }

    @Test func aRoleInUseIsDeletedOnlyWithForceWhichRemovesItsBindings() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "rdel")
            let base = "/v1/tenants/\(t.slug)"
            _ = try await api.post("\(base)/roles", ["name": "temp", "permissions": ["documents:read"]], key: t.adminKey)
            let (id, key) = try await api.principal(in: t, role: "temp")
            try await api.delete("\(base)/roles/temp", key: t.adminKey).expectProblem(.conflict, code: "role-in-use")
            #expect(try await api.delete("\(base)/roles/temp?force=true", key: t.adminKey).status == .noContent)
            #expect(try await api.get("\(base)/role-bindings?principal_id=\(id)", key: t.adminKey).items.isEmpty)
            #expect((try await api.get("/v1/me", key: key).json["permissions"] as? [String]) == [])
            let audit = try await api.get("\(base)/audit-events?action=role.delete", key: t.adminKey)
            #expect((audit.items.first?["details"] as? [String: Any])?["bindings_removed"] as? Int == 1)
        }
    }

    /// Every way around the subset rule is refused.
    @Test func privilegeEscalationAttemptsAreAllRefused() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "escal")
            let base = "/v1/tenants/\(t.slug)"
            // A role manager: may manage roles, holds little else.
            let created = try await api.post("\(base)/roles", ["name": "role_manager", "permissions": ["admin:role", "tenant:read", "documents:read"]], key: t.adminKey)
            #expect(created.status == .created, "\(created.text)")
            let (managerID, manager) = try await api.principal(in: t, role: "role_manager")

            // 1. Grant itself a stronger built-in role.
            try await api.post("\(base)/role-bindings", ["principal_id": managerID, "role": "tenant_admin"], key: manager)
                .expectProblem(.forbidden, code: "privilege-escalation")
            // 2. Edit the role it holds to add a permission it lacks.
            try await api.patch("\(base)/roles/role_manager", ["permissions": ["admin:role", "tenant:read", "documents:read", "admin:user"]], key: manager)
                .expectProblem(.forbidden, code: "privilege-escalation")
            // 3. Make it inherit a stronger role.
            try await api.patch("\(base)/roles/role_manager", ["inherits": ["developer"]], key: manager)
                .expectProblem(.forbidden, code: "privilege-escalation")
            // 4. Create a new role inheriting a stronger one, or carrying wildcards, and grant it.
            try await api.post("\(base)/roles", ["name": "sneaky", "inherits": ["tenant_admin"]], key: manager)
                .expectProblem(.forbidden, code: "privilege-escalation")
            try await api.post("\(base)/roles", ["name": "sneaky", "permissions": ["documents:*"]], key: manager)
                .expectProblem(.forbidden, code: "privilege-escalation")
            try await api.post("\(base)/roles", ["name": "sneaky", "permissions": ["*"]], key: manager)
                .expectProblem(.forbidden, code: "privilege-escalation")
            try await api.post("\(base)/roles", ["name": "sneaky", "inherits": ["super_admin"]], key: t.adminKey)
                .expectProblem(.forbidden)
            // 5. Strip a role from a stronger principal, or delete a stronger role.
            let bindings = try await api.get("\(base)/role-bindings?principal_id=\(t.adminID)", key: t.adminKey)
            let adminBinding = try #require(bindings.items.first?["id"] as? String)
            try await api.delete("\(base)/role-bindings/\(adminBinding)", key: manager).expectProblem(.forbidden, code: "privilege-escalation")
            _ = try await api.post("\(base)/roles", ["name": "strong", "permissions": ["admin:user"]], key: t.adminKey)
            try await api.delete("\(base)/roles/strong", key: manager).expectProblem(.forbidden, code: "privilege-escalation")
            // 6. Mint a key for a stronger principal.
            try await api.post("\(base)/api-keys", ["principal_id": t.adminID, "name": "steal"], key: manager).expectProblem(.forbidden)
            // What it may do: a role within its own permissions, granted to itself.
            let weaker = try await api.post("\(base)/roles", ["name": "reader", "permissions": ["documents:read"]], key: manager)
            #expect(weaker.status == .created, "\(weaker.text)")
            #expect(try await api.post("\(base)/role-bindings", ["principal_id": managerID, "role": "reader"], key: manager).status == .created)
        }
    }
}
