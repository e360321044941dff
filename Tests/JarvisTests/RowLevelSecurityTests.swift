import Foundation
import HTTPTypes
import JarvisAudit
import JarvisBilling
import JarvisHTTP
import JarvisQuota
import JarvisStore
import Testing

/// Tenant isolation is PostgreSQL's job: these tests talk to it as `jarvis_app` directly,
/// with queries that "forget" their `WHERE tenant_id`.
@Suite struct RowLevelSecurityTests {
    struct Table {
        let name: String
        /// `tenant_id`, or `id` for the tenants table itself.
        let tenantColumn: String
    }

    /// Every table in the schema that holds tenant rows, found from the catalog so new tables are covered.
    static func tenantTables(_ db: Database) async throws -> [Table] {
        let rows = try await db.query(
            """
            SELECT c.relname,
                   EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped) AS has_tenant
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
            ORDER BY c.relname
            """)
        return try rows.all.compactMap { row in
            let name = try row.string("relname")
            if name == "tenants" { return Table(name: name, tenantColumn: "id") }
            return try row.bool("has_tenant") ? Table(name: name, tenantColumn: "tenant_id") : nil
        }
    }

    @Test func everyTenantTableHasForcedRowLevelSecurityAndTheFailClosedPolicy() async throws {
        let db = Fixture.database("JARVIS_PLATFORM_DATABASE_URL")
        defer { Task { await db.pool.shutdown() } }
        let tables = try await Self.tenantTables(db)
        #expect(tables.count >= 5)
        for table in tables {
            let row = try #require(try await db.query(
                """
                SELECT c.relrowsecurity, c.relforcerowsecurity,
                       (SELECT string_agg(pg_get_expr(p.polqual, p.polrelid), ' ') FROM pg_policy p WHERE p.polrelid = c.oid) AS policy,
                       EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                               WHERE i.indrelid = c.oid AND a.attname = $2) AS leading_index
                FROM pg_class c WHERE c.oid = $1::regclass
                """, [table.name, table.tenantColumn]).first)
            #expect(try row.bool("relrowsecurity"), "\(table.name): RLS not enabled")
            #expect(try row.bool("relforcerowsecurity"), "\(table.name): RLS not forced")
            #expect(try row.optionalString("policy")?.contains("current_setting('app.tenant_id'::text, true)") == true, "\(table.name): no tenant policy")
            #expect(try row.bool("leading_index"), "\(table.name): no index leading with \(table.tenantColumn)")
        }
        // Partitions too: read directly, bypassing the parent's policy, they show nothing.
        let partitions = try await db.query(
            "SELECT c.relname FROM pg_class c WHERE c.relispartition AND c.relkind IN ('r', 'p') AND NOT (c.relrowsecurity AND c.relforcerowsecurity)")
        let exposed = try partitions.all.map { try $0.string("relname") }
        #expect(exposed.isEmpty, "partitions without forced RLS: \(exposed)")
    }

    @Test func anotherTenantsRowsAreInvisibleToQueriesWithoutWhere() async throws {
        // Two tenants with rows in every table (principals, keys, bindings, audit events).
        let (a, b) = try await Fixture.withAPI { api in
            let a = try await api.seedTenant(prefix: "rls-a")
            let b = try await api.seedTenant(prefix: "rls-b")
            for seeded in [a, b] {
                // A user who logged in (a refresh token) and mistyped once (a login failure).
                let email = "someone@\(seeded.slug).example"
                // Created with an Idempotency-Key, so the tenant has an idempotency record as well.
                let user = try await api.request(
                    .post, "/v1/tenants/\(seeded.slug)/users", key: seeded.adminKey, body: API.encode(["email": email]),
                    headers: [HTTPField.Name("Idempotency-Key")!: "seed-\(seeded.slug)"])
                let userID = try #require(user["id"])
                let password = "correct horse battery \(seeded.slug)"
                let set = try await api.request(
                    .put, "/v1/tenants/\(seeded.slug)/users/\(userID)/password", key: seeded.adminKey,
                    body: API.encode(["password": password]))
                try #require(set.status == .noContent, "\(set.text)")
                let login = try await api.postAnonymous("/v1/auth/login", ["tenant": seeded.slug, "email": email, "password": password])
                try #require(login.status == .ok, "\(login.text)")
                _ = try await api.postAnonymous("/v1/auth/login", ["tenant": seeded.slug, "email": email, "password": "wrong password 123"])
                // A registered permission and a custom role.
                let permission = try await api.post("/v1/tenants/\(seeded.slug)/permissions", ["name": "reports:read"], key: seeded.adminKey)
                try #require(permission.status == .created, "\(permission.text)")
                let role = try await api.post("/v1/tenants/\(seeded.slug)/roles", ["name": "analyst", "permissions": ["reports:read"]], key: seeded.adminKey)
                try #require(role.status == .created, "\(role.text)")
                // A quota policy and a usage event (its key, the ledger row and the day rollup).
                let quota = try await api.post("/v1/tenants/\(seeded.slug)/quotas", ["metric": "tokens_daily", "limit": 1000], key: seeded.adminKey)
                try #require(quota.status == .created, "\(quota.text)")
                let usage = try await api.post(
                    "/v1/usage", ["idempotency_key": "rls-1", "model": "m", "input_tokens": 1, "output_tokens": 2, "status": "success"],
                    key: seeded.adminKey)
                try #require(usage.json["accepted"] as? Int == 1, "\(usage.text)")
                // A check that reserves tokens takes an allowance of the budget (a quota_allowances row).
                let check = try await api.post(
                    "/v1/check", ["credential": seeded.adminKey, "permission": "tenant:read", "quota": ["tokens_estimate": 1]], key: seeded.adminKey)
                try #require(check.json["allowed"] as? Bool == true, "\(check.text)")
                let lease = try await api.post("/v1/leases", ["metric": "concurrent_workflows", "holder": "run-1"], key: seeded.adminKey)
                try #require(lease.status == .created, "\(lease.text)")
                let gauge = try await api.post("/v1/storage", ["metric": "storage_bytes", "value": 10], key: seeded.adminKey)
                try #require(gauge.status == .ok, "\(gauge.text)")
                // Releases: a prompt with versions, a label (and its history), a rollout, a model, a flag.
                try await ReleaseTests.seedPrompt(api, seeded)
                let rollout = try await api.post(
                    "/v1/tenants/\(seeded.slug)/rollouts", ["kind": "prompt", "name": "greet", "label": "production", "candidate_version": "1.1.0"],
                    key: seeded.adminKey)
                try #require(rollout.status == .created, "\(rollout.text)")
                let model = try await api.post("/v1/tenants/\(seeded.slug)/models", ["name": "chat", "provider": "acme"], key: seeded.adminKey)
                try #require(model.status == .created, "\(model.text)")
                let modelVersion = try await api.post(
                    "/v1/tenants/\(seeded.slug)/models/chat/versions", ["version": "1.0.0", "provider_model_id": "acme-1"], key: seeded.adminKey)
                try #require(modelVersion.status == .created, "\(modelVersion.text)")
                let flag = try await api.post("/v1/tenants/\(seeded.slug)/flags", ["key": "beta", "kind": "boolean", "default": "false"], key: seeded.adminKey)
                try #require(flag.status == .created, "\(flag.text)")
                // A negotiated price (the platform sets it in the tenant).
                let price = try await api.post(
                    "/v1/tenants/\(seeded.slug)/prices",
                    ["model": "rls-model", "currency": "USD", "input_micros_per_million": 1, "output_micros_per_million": 2,
                     "effective_from": "2026-01-01T00:00:00Z"])
                try #require(price.status == .created, "\(price.text)")
                // Last month's usage, and its statement closed (a statement and its lines).
                let last = StatementTests.lastMonth()
                let late = try await api.post(
                    "/v1/usage",
                    ["idempotency_key": "rls-last-month", "model": "m", "input_tokens": 1, "output_tokens": 2, "status": "success",
                     "timestamp": last.noonOfLastDay], key: seeded.adminKey)
                try #require(late.json["accepted"] as? Int == 1, "\(late.text)")
                let closed = try await api.post("/v1/tenants/\(seeded.slug)/statements/\(last.period)/close", [:])
                try #require(closed.status == .created, "\(closed.text)")
                // A webhook, and a warning (reserving 90% of the budget) with its delivery.
                let hook = try await api.post("/v1/tenants/\(seeded.slug)/webhooks", ["url": "http://93.184.216.34/hook"], key: seeded.adminKey)
                try #require(hook.status == .created, "\(hook.text)")
                // Admitted, or no warning can follow (a fresh-clone run once saw none within 5 s; this
                // says which step it was if it happens again).
                let reserve = try await api.post(
                    "/v1/check", ["credential": seeded.adminKey, "permission": "tenant:read", "quota": ["tokens_estimate": 900]], key: seeded.adminKey)
                try #require(reserve.json["allowed"] as? Bool == true, "\(reserve.text)")
                var warned = false
                for _ in 0..<100 where !warned {
                    warned = !(try await api.get("/v1/tenants/\(seeded.slug)/quotas/notifications", key: seeded.adminKey).items.isEmpty)
                    if !warned { try await Task.sleep(for: .milliseconds(50)) }
                }
                try #require(warned, "no quota warning was recorded")
                // A budget the month's spend has reached (1 micro-unit: a million input tokens at the
                // price above), so it has an alert. Last: the use is past the token budget.
                let budget = try await api.post("/v1/tenants/\(seeded.slug)/budgets", ["amount_micros": 1, "thresholds": [100]], key: seeded.adminKey)
                try #require(budget.status == .created, "\(budget.text)")
                let priced = try await api.post(
                    "/v1/usage", ["idempotency_key": "rls-priced", "model": "rls-model", "input_tokens": 1_000_000, "output_tokens": 0, "status": "success"],
                    key: seeded.adminKey)
                try #require(priced.json["accepted"] as? Int == 1, "\(priced.text)")
                try await Fixture.jarvis().budgetAlerts.pass()
                // Ten refusals of one principal: a security alert (written once the refusals are).
                let (_, nobody) = try await api.principal(in: seeded, role: nil)
                for _ in 0..<10 { _ = try await api.get("/v1/tenants/\(seeded.slug)/roles", key: nobody) }
                var alerted = false
                for _ in 0..<50 where !alerted {
                    try await Fixture.jarvis().securityAlerts.pass()
                    alerted = !(try await api.get("/v1/tenants/\(seeded.slug)/audit-events?action=security.alert", key: seeded.adminKey).items.isEmpty)
                    if !alerted { try await Task.sleep(for: .milliseconds(100)) }
                }
                try #require(alerted, "no security alert was raised")
                // Its audit events sealed (chain links, a head) and the head signed (a checkpoint).
                let tenantID = try #require(UUID(uuidString: seeded.tenantID))
                try await Fixture.jarvis().auditSealer.seal(tenantID)
                try await Fixture.jarvis().auditCheckpoints.pass(force: tenantID)
                // An archived month's record (the archive itself is AuditArchiveTests'), as archiving writes it.
                try await Fixture.platform.query(
                    """
                    INSERT INTO audit_archives (tenant_id, month, first_seq, last_seq, links, file, file_sha256)
                    VALUES ($1, '1000-01-01', 1, 1, 1, 'rls-probe.ndjson.gz', decode(repeat('00', 32), 'hex'))
                    """, [tenantID])
            }
            return (a, b)
        }
        let tenantA = try #require(UUID(uuidString: a.tenantID))
        let app = Fixture.database("JARVIS_DATABASE_URL", poolSize: 1)
        let platform = Fixture.database("JARVIS_PLATFORM_DATABASE_URL")
        defer { Task { await app.pool.shutdown(); await platform.pool.shutdown() } }
        let tables = try await Self.tenantTables(platform)

        for table in tables {
            let seen = try await app.withTenant(tenantA) { tx in
                // The sealer empties the waiting list within moments: an event written in this
                // transaction (the app role's own audit insert) puts a row there to see.
                if table.name == "audit_unsealed" {
                    try await tx.query(
                        "INSERT INTO audit_events (tenant_id, id, actor_kind, action, target_type, outcome) VALUES ($1, $2, 'system', 'rls.probe', 'test', 'success')",
                        [tenantA, UUIDv7.make()])
                }
                return try await tx.query("SELECT * FROM \(table.name)").all.map { try $0.string(table.tenantColumn) }
            }
            #expect(!seen.isEmpty, "\(table.name): tenant A should see its own rows")
            #expect(seen.allSatisfy { $0 == a.tenantID }, "\(table.name): tenant A saw another tenant's rows")
            #expect(!seen.contains(b.tenantID))
        }
        // No tenant set: nothing at all, on the same (already used) connection and in a new transaction.
        for table in tables {
            #expect(try await app.query("SELECT * FROM \(table.name)").isEmpty, "\(table.name) visible without a tenant")
            let inTransaction = try await app.withTransaction { tx in try await tx.query("SELECT * FROM \(table.name)").count }
            #expect(inTransaction == 0)
        }
    }

    @Test func theAppRoleCannotEscapeRowLevelSecurity() async throws {
        let app = Fixture.database("JARVIS_DATABASE_URL", poolSize: 1)
        defer { Task { await app.pool.shutdown() } }
        let (a, b) = try await Fixture.withAPI { api in (try await api.seedTenant(prefix: "esc-a"), try await api.seedTenant(prefix: "esc-b")) }
        let tenantA = try #require(UUID(uuidString: a.tenantID))
        let attempts = [
            "SET ROLE jarvis_platform",
            "SET ROLE jarvis_owner",
            "SET SESSION AUTHORIZATION jarvis_platform",
            "ALTER ROLE jarvis_app BYPASSRLS",
            "ALTER TABLE principals DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE principals NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY tenant_isolation ON principals",
            "CREATE POLICY open ON principals USING (true)",
            "SELECT * FROM audit_events_default",
            "GRANT jarvis_platform TO jarvis_app",
            "CREATE TABLE sneaky (x int)",
            "DELETE FROM audit_events",
            "UPDATE audit_events SET outcome = 'failure'",
        ]
        for statement in attempts {
            await #expect(throws: StoreError.self, "\(statement) was allowed") {
                try await app.withTenant(tenantA) { tx in try await tx.query(statement) }
            }
        }
        // row_security = off makes a query that RLS would filter fail, rather than see everything.
        await #expect(throws: StoreError.self) {
            try await app.withTenant(tenantA) { tx in
                try await tx.query("SET LOCAL row_security = off")
                return try await tx.query("SELECT * FROM principals").count
            }
        }
        // Writing a row for another tenant is refused by the policy's check.
        await #expect(throws: StoreError.self) {
            try await app.withTenant(tenantA) { tx in
                try await tx.query(
                    "INSERT INTO principals (tenant_id, id, kind, name) VALUES ($1, $2, 'service_account', 'intruder')",
                    [b.tenantID, UUIDv7.make()])
            }
        }
        await #expect(throws: StoreError.self) {
            try await app.withTenant(tenantA) { tx in
                try await tx.query("UPDATE principals SET tenant_id = $1", [b.tenantID])
            }
        }
        // And moving a row out of sight does not reach B's rows either: B's principals are untouched.
        let platform = Fixture.database("JARVIS_PLATFORM_DATABASE_URL")
        defer { Task { await platform.pool.shutdown() } }
        let bRows = try await platform.query("SELECT count(*) AS n FROM principals WHERE tenant_id = $1", [b.tenantID])
        #expect(try bRows.first?.int("n") == 1)
    }
}
