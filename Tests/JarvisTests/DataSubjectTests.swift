import Foundation
import HTTPTypes
import JarvisAudit
import JarvisHTTP
import JarvisStore
import Testing

/// Data-subject rights: everything held about a user exported; their personal data erased from
/// every table and export while the audit chain still verifies.
@Suite struct DataSubjectTests {
    /// Tables (not partitions) holding rows of `tenantID` whose text contains `needle`.
    /// Read as the owner (every table's privileges) inside the tenant (its row-level security).
    static func tablesHolding(_ needle: String, tenantID: String) async throws -> [String] {
        let owner = Fixture.database("JARVIS_OWNER_DATABASE_URL", poolSize: 1)
        defer { Task { await owner.pool.shutdown() } }
        let tenant = try #require(UUID(uuidString: tenantID))
        return try await owner.withTenant(tenant) { tx in try await tablesHolding(tx, needle, tenantID: tenantID) }
    }

    static func tablesHolding(_ tx: Transaction, _ needle: String, tenantID: String) async throws -> [String] {
        let tables = try await tx.query(
            """
            SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
              AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
            """)
        var holding: [String] = []
        for row in tables.all {
            let table = try row.string("relname")
            // Table names come from the catalogue, not from input.
            let n = try await tx.query(
                "SELECT count(*) AS n FROM \(table) t WHERE t.tenant_id = $1::uuid AND strpos(lower(t::text), lower($2)) > 0", [tenantID, needle]
            ).first?.int("n") ?? 0
            if n > 0 { holding.append(table) }
        }
        return holding
    }

    @Test func anErasedUsersDataIsGoneFromEveryTableAndExportAndTheChainStillVerifies() async throws {
        try await Fixture.withAPI { api in
            let u = try await IdentityAPITests.user(api, prefix: "dsr")
            let t = u.tenant
            let name = "Ada Lovelace \(t.slug)"
            #expect(try await api.patch("/v1/tenants/\(t.slug)/users/\(u.id)", ["display_name": name], key: t.adminKey).status == .ok)
            let session = try await SessionEndTests.session(api, u)
            _ = try await IdentityAPITests.login(api, t.slug, u.email, "not the password")
            await (try await Fixture.jarvis()).securityEvents.flush()

            // The audit rows hold digests; the log shows the values, and so does the export.
            let holding = try await Self.tablesHolding(u.email, tenantID: t.tenantID).sorted()
            #expect(holding == ["audit_personal", "login_failures", "principals"], "\(holding)")
            let created = try await api.get("/v1/tenants/\(t.slug)/audit-events?action=user.create", key: t.adminKey).items.first
            #expect((created?["details"] as? [String: any Sendable])?["email"] as? String == u.email)
            let export = try await api.get("/v1/tenants/\(t.slug)/users/\(u.id)/data-export", key: t.adminKey)
            #expect(export.status == .ok, "\(export.text)")
            #expect(export.text.contains(u.email) && export.text.contains(name))
            let document = export.json
            #expect((document["user"] as? [String: any Sendable])?["email"] as? String == u.email)
            #expect((document["role_bindings"] as? [[String: any Sendable]])?.first?["role"] as? String == "developer")
            #expect((document["sessions"] as? [[String: any Sendable]])?.count == 1)
            #expect(((document["audit_events"] as? [[String: any Sendable]])?.count ?? 0) >= 4, "\(export.text)")
            // Another tenant's admin and a viewer of this one get nothing.
            let other = try await api.seedTenant(prefix: "dsr-other")
            #expect(try await api.get("/v1/tenants/\(t.slug)/users/\(u.id)/data-export", key: other.adminKey).status == .notFound)
            let (_, viewer) = try await api.principal(in: t, role: "viewer")
            #expect(try await api.post("/v1/tenants/\(t.slug)/users/\(u.id)/erase", [:], key: viewer).status == .forbidden)

            let erased = try await api.post("/v1/tenants/\(t.slug)/users/\(u.id)/erase", [:], key: t.adminKey)
            #expect(erased.status == .ok, "\(erased.text)")
            #expect(erased.json["sessions_revoked"] as? Int == 1 && (erased.json["audit_values_erased"] as? Int ?? 0) >= 3, "\(erased.text)")

            // Gone from every table of the tenant, from the log, the report and both exports.
            #expect(try await Self.tablesHolding(u.email, tenantID: t.tenantID) == [])
            #expect(try await Self.tablesHolding(name, tenantID: t.tenantID) == [])
            for path in ["audit-events?limit=500", "audit-events/export", "audit/report?format=csv", "users/\(u.id)/data-export"] {
                let answer = try await api.get("/v1/tenants/\(t.slug)/\(path)", key: t.adminKey)
                #expect(answer.status == .ok && !answer.text.contains(u.email) && !answer.text.contains(name), "\(path): \(answer.text.prefix(300))")
            }
            // The user can no longer sign in or use a session; the chain verifies as sealed.
            try await SessionEndTests.expectRefused(api, session.access)
            #expect(try await IdentityAPITests.login(api, t.slug, u.email, u.password).status == .unauthorized)
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            await (try await Fixture.jarvis()).readEvents.flush()
            await (try await Fixture.jarvis()).securityEvents.flush()
            _ = try await Fixture.jarvis().auditSealer.seal(tenantID)
            let report = try await api.get("/v1/tenants/\(t.slug)/audit/verify", key: t.adminKey)
            // (Access events of its checks may still be on their way to the chain: intact is the point.)
            #expect(report.json["intact"] as? Bool == true && (report.json["checked"] as? Int ?? 0) > 5, "\(report.text)")
            let erasure = try await api.get("/v1/tenants/\(t.slug)/audit-events?action=user.erase", key: t.adminKey).items
            #expect(erasure.count == 1)
        }
    }
}
