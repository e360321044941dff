import Foundation
import HTTPTypes
import JarvisStore
import Testing

@Suite struct TenantAPITests {
    @Test func aSuperAdminCreatesListsReadsUpdatesAndDeletesTenants() async throws {
        try await Fixture.withAPI { api in
            let slug = Fixture.uniqueSlug("crud")
            let created = try await api.post("/v1/tenants", ["slug": slug, "name": "Crud Inc", "plan": "pro"])
            #expect(created.status == .created)
            let id = try #require(created["id"])
            #expect(created.headers[.location] == "/v1/tenants/\(id)")
            #expect(created["plan"] == "pro" && created["status"] == "active")

            #expect(try await api.get("/v1/tenants/\(slug)")["id"] == id)
            #expect(try await api.get("/v1/tenants/\(id)")["slug"] == slug)

            let updated = try await api.patch("/v1/tenants/\(slug)", ["name": "Crud Ltd", "status": "suspended"])
            #expect(updated.status == .ok)
            #expect(updated["name"] == "Crud Ltd" && updated["status"] == "suspended" && updated["plan"] == "pro")

            let suspended = try await api.get("/v1/tenants?status=suspended&limit=500")
            #expect(suspended.items.contains { ($0["id"] as? String) == id })

            #expect(try await api.delete("/v1/tenants/\(id)").status == .noContent)
            try await api.get("/v1/tenants/\(id)").expectProblem(.notFound, code: "not-found")
            try await api.delete("/v1/tenants/\(id)").expectProblem(.notFound)
            // The slug is free again once the tenant is gone.
            #expect(try await api.post("/v1/tenants", ["slug": slug, "name": "Crud again"]).status == .created)
        }
    }

    @Test(arguments: ["ab", "Upper", "1starts-with-digit", "ends-", "has space", "under_score", String(repeating: "a", count: 64), ""])
    func invalidSlugsAreRefused(slug: String) async throws {
        try await Fixture.withAPI { api in
            try await api.post("/v1/tenants", ["slug": slug, "name": "x"]).expectProblem(.badRequest, code: "invalid-input")
        }
    }

    @Test func aDuplicateSlugIsAConflict() async throws {
        try await Fixture.withAPI { api in
            let slug = Fixture.uniqueSlug("dup")
            #expect(try await api.post("/v1/tenants", ["slug": slug, "name": "one"]).status == .created)
            try await api.post("/v1/tenants", ["slug": slug, "name": "two"]).expectProblem(.conflict, code: "conflict")
        }
    }

    @Test func listsPageWithCursorsAndBoundedLimits() async throws {
        try await Fixture.withAPI { api in
            for _ in 0..<3 { _ = try await api.post("/v1/tenants", ["slug": Fixture.uniqueSlug("page"), "name": "p"]) }
            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await api.get("/v1/tenants?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
                #expect(page.status == .ok)
                #expect(page.items.count <= 2)
                seen += page.items.compactMap { $0["id"] as? String }
                cursor = page["next_cursor"]
                pages += 1
            } while cursor != nil && pages < 10_000
            #expect(seen.count == Set(seen).count, "pages overlap")
            #expect(seen == seen.sorted(), "pages out of order")
            #expect(seen.count >= 4)
            try await api.get("/v1/tenants?limit=0").expectProblem(.badRequest)
            try await api.get("/v1/tenants?limit=501").expectProblem(.badRequest)
            try await api.get("/v1/tenants?limit=ten").expectProblem(.badRequest)
            try await api.get("/v1/tenants?cursor=not-a-cursor").expectProblem(.badRequest)
        }
    }

    @Test func tenantAdminsCannotUseThePlatformAPI() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant()
            try await api.post("/v1/tenants", ["slug": Fixture.uniqueSlug(), "name": "x"], key: tenant.adminKey)
                .expectProblem(.forbidden, code: "forbidden")
            try await api.get("/v1/tenants", key: tenant.adminKey).expectProblem(.forbidden)
            try await api.patch("/v1/tenants/\(tenant.slug)", ["plan": "enterprise"], key: tenant.adminKey).expectProblem(.forbidden)
            try await api.delete("/v1/tenants/\(tenant.slug)", key: tenant.adminKey).expectProblem(.forbidden)
            // Reading its own tenant is fine.
            #expect(try await api.get("/v1/tenants/\(tenant.slug)", key: tenant.adminKey)["id"] == tenant.tenantID)
        }
    }

    @Test func thePlatformTenantCannotBeSuspendedOrDeleted() async throws {
        try await Fixture.withAPI { api in
            try await api.patch("/v1/tenants/platform", ["status": "suspended"]).expectProblem(.conflict, code: "platform-tenant-protected")
            try await api.delete("/v1/tenants/platform").expectProblem(.conflict, code: "platform-tenant-protected")
        }
    }

    @Test func suspendingATenantStopsItsKeysWith403AndDeletingWith401() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "susp")
            #expect(try await api.get("/v1/me", key: tenant.adminKey).status == .ok)
            _ = try await api.patch("/v1/tenants/\(tenant.slug)", ["status": "suspended"])
            try await api.get("/v1/me", key: tenant.adminKey).expectProblem(.forbidden, code: "tenant-suspended")
            _ = try await api.patch("/v1/tenants/\(tenant.slug)", ["status": "active"])
            #expect(try await api.get("/v1/me", key: tenant.adminKey).status == .ok)
            #expect(try await api.delete("/v1/tenants/\(tenant.slug)").status == .noContent)
            try await api.get("/v1/me", key: tenant.adminKey).expectProblem(.unauthorized, code: "invalid-credential")
        }
    }

    @Test func tenantChangesAreAuditedUnderTheTenant() async throws {
        try await Fixture.withAPI { api in
            let tenant = try await api.seedTenant(prefix: "aud")
            _ = try await api.patch("/v1/tenants/\(tenant.slug)", ["plan": "enterprise"])
            let events = try await api.get("/v1/tenants/\(tenant.slug)/audit-events?action=tenant.update")
            #expect(events.items.count == 1)
            #expect((events.items.first?["details"] as? [String: Any])?["plan"] as? String == "enterprise")
            let create = try await api.get("/v1/tenants/\(tenant.slug)/audit-events?action=tenant.create")
            #expect(create.items.count == 1)
        }
    }
}
