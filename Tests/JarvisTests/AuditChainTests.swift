import Foundation
import HTTPTypes
@testable import JarvisAudit
import JarvisHTTP
import JarvisStore
import Testing

/// The audit hash chain: what commits is sealed, nobody rewrites an audit row, and tampering by
/// someone who gets past that (the owner role, triggers switched off) is found and located.
@Suite struct AuditChainTests {
    /// A tenant with a few audited mutations, sealed. - Returns: its slug, id and chain length.
    static func sealedTenant(_ api: API, prefix: String) async throws -> (slug: String, id: UUID, links: Int) {
        let t = try await api.seedTenant(prefix: prefix)
        for n in 0..<3 {
            let account = try await api.post("/v1/tenants/\(t.slug)/service-accounts", ["name": "svc-\(n)"], key: t.adminKey)
            try #require(account.status == .created, "\(account.text)")
        }
        let id = try #require(UUID(uuidString: t.tenantID))
        // The admin's reads are access events of this tenant too: written before sealing.
        await (try await Fixture.jarvis()).readEvents.flush()
        _ = try await Fixture.jarvis().auditSealer.seal(id)
        _ = try await Fixture.jarvis().auditCheckpoints.pass(force: id)
        let report = try await api.get("/v1/tenants/\(t.slug)/audit/verify", key: t.adminKey)
        try #require(report.json["intact"] as? Bool == true && report.json["unsealed"] as? Int == 0, "\(report.text)")
        let links = try #require(report.json["checked"] as? Int)
        try #require(links >= 4, "\(report.text)")
        // Read in windows of two links, the same chain holds as a whole (it may have grown since:
        // the verification just asked for is itself an access event the sealer chains).
        let windowed = try await Self.inSmallWindows(id)
        try #require(windowed.intact && windowed.checked >= links, "\(windowed)")
        return (t.slug, id, links)
    }

    /// The verification read in windows of two links, so a tampered place sits on a window's edge.
    static func inSmallWindows(_ tenantID: UUID) async throws -> AuditVerifier.Report {
        let platform = Fixture.database("JARVIS_PLATFORM_DATABASE_URL", poolSize: 2)
        defer { Task { await platform.pool.shutdown() } }
        return try await AuditVerifier(database: platform, window: 2).verify(tenantID: tenantID)
    }

    static func firstBreakInSmallWindows(_ tenantID: UUID) async throws -> (seq: Int, kind: String) {
        let found = try #require(try await inSmallWindows(tenantID).firstBreak)
        return (Int(found.seq), found.kind.rawValue)
    }

    /// Runs `statements` as the owner inside the tenant, with the append-only triggers off for
    /// that transaction only — what an attacker with the owner's password could do.
    static func tamper(_ tenantID: UUID, _ statements: [String]) async throws {
        let owner = Fixture.database("JARVIS_OWNER_DATABASE_URL", poolSize: 1)
        defer { Task { await owner.pool.shutdown() } }
        try await owner.withTenant(tenantID) { tx in
            for table in ["audit_events", "audit_chain", "audit_checkpoints"] { try await tx.query("ALTER TABLE \(table) DISABLE TRIGGER append_only") }
            for statement in statements { try await tx.query(statement, [tenantID]) }
            for table in ["audit_events", "audit_chain", "audit_checkpoints"] { try await tx.query("ALTER TABLE \(table) ENABLE TRIGGER append_only") }
        }
    }

    static func firstBreak(_ api: API, _ slug: String) async throws -> (seq: Int, kind: String) {
        let report = try await api.get("/v1/tenants/\(slug)/audit/verify")
        #expect(report.json["intact"] as? Bool == false, "\(report.text)")
        let found = try #require(report.json["first_break"] as? [String: any Sendable], "\(report.text)")
        return (found["seq"] as? Int ?? -1, found["kind"] as? String ?? "")
    }

    /// The verifier builds each event's canonical bytes itself from the raw columns; the sealer had
    /// PostgreSQL render them. Text that needs escaping, other scripts, a time on the whole second and
    /// one with trailing zeros must come out byte for byte the same, or the chain would not verify.
    @Test func theVerifiersCanonicalBytesAreThoseTheSealerHashed() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "canon")
            let id = try #require(UUID(uuidString: t.tenantID))
            let awkward = "quote \" back \\ tab \t newline \n cr \r bell \u{07} del \u{7F} é 日本 😀 </script>"
            for (n, at) in ["2026-11-30T01:02:03Z", "2026-11-30T01:02:03.100000Z", "2026-11-30T01:02:03.000001Z"].enumerated() {
                try await Fixture.platform.query(
                    """
                    INSERT INTO audit_events (tenant_id, id, occurred_at, actor_id, actor_kind, action, target_type, target_id, request_id,
                                              outcome, details)
                    VALUES ($1, $2, $3::timestamptz, NULL, 'system', 'test.canonical', 'thing', $4, $5, 'failure', $6::jsonb)
                    """,
                    [id, UUIDv7.make(), at, awkward, n == 0 ? nil : "req\n\(n)",
                     JSONText(#"{"text": "\#(n) \\u0001 \"q\" \\\\ é", "nested": {"b": [1, 2.50, null, true], "a": "x"}, "n": 1e3}"#)])
            }
            _ = try await Fixture.jarvis().auditSealer.seal(id)
            let report = try await api.get("/v1/tenants/\(t.slug)/audit/verify", key: t.adminKey)
            #expect(report.json["intact"] as? Bool == true && (report.json["checked"] as? Int ?? 0) >= 4, "\(report.text)")
        }
    }

    @Test func committedEventsAreSealedAndVerify() async throws {
        try await Fixture.withAPI { api in
            let (slug, _, links) = try await Self.sealedTenant(api, prefix: "chain")
            // More events seal after the head; the background sealer gets there by itself.
            _ = try await api.post("/v1/tenants/\(slug)/service-accounts", ["name": "later"])
            var report = try await api.get("/v1/tenants/\(slug)/audit/verify")
            for _ in 0..<50 where report.json["checked"] as? Int == links {
                try await Task.sleep(for: .milliseconds(100))
                report = try await api.get("/v1/tenants/\(slug)/audit/verify")
            }
            // (Its own `api.read` of the verification, by the tenant's admin, may have been sealed since too.)
            #expect(report.json["intact"] as? Bool == true && (links + 1...links + 2).contains(report.json["checked"] as? Int ?? 0), "\(report.text)")
            #expect((report.json["head_hash"] as? String)?.count == 64)
            #expect(report.json["checkpoints"] as? Int ?? 0 >= 1 && report.json["last_checkpoint_seq"] as? Int == links, "\(report.text)")
            // A tenant's chain is its own: another tenant's admin gets a 404.
            let other = try await api.seedTenant(prefix: "chain-o")
            try await api.get("/v1/tenants/\(slug)/audit/verify", key: other.adminKey).expectProblem(.notFound)
        }
    }

    @Test func auditRowsAreAppendOnlyForEveryRole() async throws {
        let (slug, id, _) = try await Fixture.withAPI { api in try await Self.sealedTenant(api, prefix: "chain-ro") }
        _ = slug
        for url in ["JARVIS_DATABASE_URL", "JARVIS_PLATFORM_DATABASE_URL", "JARVIS_OWNER_DATABASE_URL"] {
            let database = Fixture.database(url, poolSize: 1)
            for statement in [
                "UPDATE audit_events SET outcome = 'failure' WHERE tenant_id = $1", "DELETE FROM audit_events WHERE tenant_id = $1",
                "UPDATE audit_chain SET seq = seq + 1000 WHERE tenant_id = $1", "DELETE FROM audit_chain WHERE tenant_id = $1",
            ] {
                await #expect(throws: StoreError.self, "\(url): \(statement)") {
                    try await database.withTenant(id) { tx in try await tx.query(statement, [id]) }
                }
            }
            await #expect(throws: StoreError.self, "\(url): TRUNCATE") {
                try await database.withTenant(id) { tx in try await tx.query("TRUNCATE audit_chain") }
            }
            await database.pool.shutdown()
        }
    }

    /// `from`/`to` verify only the links of events in the range: a change before it is not theirs
    /// to find, one inside it is found and located.
    @Test func aTimeRangeIsVerifiedOnItsOwn() async throws {
        try await Fixture.withAPI { api in
            let t = try await Self.sealedTenant(api, prefix: "range")
            let id = t.id
            try await Task.sleep(for: .milliseconds(20))
            let from = Timestamp.format(Date())
            for n in 0..<2 { _ = try await api.post("/v1/tenants/\(t.slug)/service-accounts", ["name": "in-range-\(n)"]) }
            let to = Timestamp.format(Date().addingTimeInterval(0.001))
            _ = try await Fixture.jarvis().auditSealer.seal(id)
            func ranged() async throws -> [String: any Sendable] {
                try await api.get("/v1/tenants/\(t.slug)/audit/verify?from=\(from)&to=\(to)").json
            }
            let clean = try await ranged()
            // (The admin's read of the verification, just before the range, reaches the chain
            // asynchronously: sealed before the range's events, or between them — a link in the range.)
            let first = try #require(clean["first_seq"] as? Int)
            #expect(clean["intact"] as? Bool == true && (2...3).contains(clean["checked"] as? Int ?? 0) && (t.links + 1...t.links + 2).contains(first), "\(clean)")
            // Changed before the range: the whole chain breaks there, the range still holds.
            try await Self.tamper(id, [
                "UPDATE audit_events SET outcome = 'denied' WHERE tenant_id = $1 AND id = (SELECT event_id FROM audit_chain WHERE tenant_id = $1 AND seq = 2)",
            ])
            #expect(try await Self.firstBreak(api, t.slug) == (2, "changed"))
            #expect(try await ranged()["intact"] as? Bool == true)
            // Changed inside it: found there.
            try await Self.tamper(id, [
                "UPDATE audit_events SET outcome = 'denied' WHERE tenant_id = $1 AND id = (SELECT event_id FROM audit_chain WHERE tenant_id = $1 AND seq = \(first + 1))",
            ])
            let broken = try await ranged()
            #expect(broken["intact"] as? Bool == false && (broken["first_break"] as? [String: any Sendable])?["seq"] as? Int == first + 1, "\(broken)")
            try await api.get("/v1/tenants/\(t.slug)/audit/verify?from=\(to)&to=\(from)").expectProblem(.badRequest)
        }
    }

    /// Right after a burst of a tenant's events, before they are analysed, the statistics say the
    /// tenant has next to none. A window of the verification must still look each link's event up
    /// by its key: as a plain join, PostgreSQL then loaded the tenant's events once and compared
    /// every link with every one of them (200,000 links took minutes in the benchmark).
    @Test func aWindowLooksEachEventUpByItsKeyWhateverTheStatisticsSay() async throws {
        let owner = Fixture.database("JARVIS_OWNER_DATABASE_URL", poolSize: 1)
        defer { Task { await owner.pool.shutdown() } }
        let t = try await Fixture.withAPI { api in try await api.seedTenant(prefix: "stale") }
        let id = try #require(UUID(uuidString: t.tenantID))
        // Statistics from before the burst; the burst; the links analysed after it.
        try await owner.query("ANALYZE audit_events")
        try await Fixture.platform.query(
            """
            INSERT INTO audit_events (tenant_id, id, occurred_at, actor_kind, action, target_type, outcome)
            SELECT $1, gen_random_uuid(), now(), 'system', 'test.burst', 'thing', 'success' FROM generate_series(1, 3000)
            """, [id])
        _ = try await Fixture.jarvis().auditSealer.seal(id)
        try await owner.query("ANALYZE audit_chain")
        let select = AuditVerifier.linksSQL(first: 1, last: 50_000)
            .replacingOccurrences(of: "COPY (", with: "EXPLAIN (").replacingOccurrences(of: ") TO STDOUT", with: ")")
        let plan = try await Fixture.platform.withTenant(id) { tx in
            try await tx.query(AuditVerifier.windowSettings)
            return try await tx.query(select).all.map { try $0.string("QUERY PLAN") }.joined(separator: "\n")
        }
        #expect(!plan.contains("Materialize") && !plan.contains("Join Filter"), "\(plan)")
        #expect(plan.contains("Index Cond:") && plan.contains("id = c.event_id"), "\(plan)")
        #expect(try await Self.inSmallWindows(id).intact)
    }

    /// The sealing queue is filled per statement (migration 0028): every row of a many-row
    /// INSERT is queued, in the writer's transaction, and sealed.
    @Test func everyRowOfAManyRowStatementIsQueuedAndSealed() async throws {
        let t = try await Fixture.withAPI { api in try await api.seedTenant(prefix: "queued") }
        let id = try #require(UUID(uuidString: t.tenantID))
        let queued = try await Fixture.platform.withTenant(id) { tx in
            try await tx.query(
                """
                INSERT INTO audit_events (tenant_id, id, occurred_at, actor_kind, action, target_type, outcome)
                SELECT $1, gen_random_uuid(), now(), 'system', 'test.many', 'thing', 'success' FROM generate_series(1, 500)
                """, [id])
            try await tx.query(
                """
                INSERT INTO audit_events (tenant_id, id, occurred_at, actor_kind, action, target_type, outcome)
                VALUES ($1, gen_random_uuid(), now(), 'system', 'test.two', 'thing', 'success'),
                       ($1, gen_random_uuid(), now(), 'system', 'test.two', 'thing', 'denied')
                """, [id])
            // Only this transaction's events: the sealer may take the tenant's earlier ones meanwhile.
            return try await tx.query(
                """
                SELECT count(*) AS n FROM audit_unsealed u JOIN audit_events e ON e.tenant_id = u.tenant_id AND e.id = u.event_id
                WHERE u.tenant_id = $1 AND e.action IN ('test.many', 'test.two')
                """, [id]).first?.int("n") ?? 0
        }
        #expect(queued == 502)
        await (try await Fixture.jarvis()).readEvents.flush()
        _ = try await Fixture.jarvis().auditSealer.seal(id)
        let counts = try await Fixture.platform.withTenant(id) { tx in
            try await tx.query(
                """
                SELECT (SELECT count(*) FROM audit_events WHERE tenant_id = $1) AS events,
                       (SELECT count(*) FROM audit_chain WHERE tenant_id = $1) AS links,
                       (SELECT count(*) FROM audit_unsealed WHERE tenant_id = $1) AS waiting
                """, [id]).first
        }
        #expect(try counts?.int("waiting") == 0)
        #expect(try counts?.int("links") == counts?.int("events"))
        #expect(try await Self.inSmallWindows(id).intact)
    }

    /// Sealing takes the earliest month with events waiting, then the next: events of several months
    /// committed together are chained in time order, and a waiting entry whose event cannot be found
    /// (never expected) does not hold up the months after it.
    @Test func eventsWaitingInSeveralMonthsAreSealedMonthByMonth() async throws {
        let t = try await Fixture.withAPI { api in try await api.seedTenant(prefix: "months") }
        let id = try #require(UUID(uuidString: t.tenantID))
        try await Fixture.platform.withTenant(id) { tx in
            try await tx.query(
                "INSERT INTO audit_unsealed (tenant_id, event_id, occurred_at) VALUES ($1, gen_random_uuid(), now() - interval '62 days')", [id])
            try await tx.query(
                """
                INSERT INTO audit_events (tenant_id, id, occurred_at, actor_kind, action, target_type, outcome)
                SELECT $1, gen_random_uuid(), now() - make_interval(days => d), 'system', 'test.month', 'thing', 'success'
                FROM unnest(ARRAY[0, 35, 0, 35, 0]) AS d
                """, [id])
        }
        var links: [(seq: Int, daysAgo: Int)] = []
        for _ in 0..<40 {
            _ = try await Fixture.platform.query("SELECT jarvis_audit_seal($1, 50000)", [id])
            links = try await Fixture.platform.withTenant(id) { tx in
                try await tx.query(
                    """
                    SELECT c.seq, round(extract(epoch FROM now() - e.occurred_at) / 86400)::int AS days_ago
                    FROM audit_chain c JOIN audit_events e ON e.tenant_id = c.tenant_id AND e.id = c.event_id AND e.occurred_at = c.occurred_at
                    WHERE c.tenant_id = $1 AND e.action = 'test.month' ORDER BY c.seq
                    """, [id]).all.map { (try $0.int("seq"), try $0.int("days_ago")) }
            }
            if links.count == 5 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(links.map(\.daysAgo) == [35, 35, 0, 0, 0], "\(links)")
        let waiting = try await Fixture.platform.query("SELECT count(*) AS n FROM audit_unsealed WHERE tenant_id = $1", [id])
        #expect(try waiting.first?.int("n") == 1)
        #expect(try await Self.inSmallWindows(id).intact)
    }

    @Test func tamperingIsFoundAndLocated() async throws {
        try await Fixture.withAPI { api in
            // A changed event.
            let changed = try await Self.sealedTenant(api, prefix: "tamper-c")
            try await Self.tamper(changed.id, [
                "UPDATE audit_events SET details = details || '{\"name\": \"someone else\"}' WHERE tenant_id = $1 AND id = (SELECT event_id FROM audit_chain WHERE tenant_id = $1 AND seq = 3)",
            ])
            #expect(try await Self.firstBreak(api, changed.slug) == (3, "changed"))
            #expect(try await Self.firstBreakInSmallWindows(changed.id) == (3, "changed"))
            // A deleted event.
            let deleted = try await Self.sealedTenant(api, prefix: "tamper-d")
            try await Self.tamper(deleted.id, [
                "DELETE FROM audit_events WHERE tenant_id = $1 AND id = (SELECT event_id FROM audit_chain WHERE tenant_id = $1 AND seq = 2)",
            ])
            #expect(try await Self.firstBreak(api, deleted.slug) == (2, "missing"))
            #expect(try await Self.firstBreakInSmallWindows(deleted.id) == (2, "missing"))
            // A deleted link.
            let cut = try await Self.sealedTenant(api, prefix: "tamper-l")
            try await Self.tamper(cut.id, ["DELETE FROM audit_chain WHERE tenant_id = $1 AND seq = 3"])
            #expect(try await Self.firstBreak(api, cut.slug) == (3, "missing"))
            #expect(try await Self.firstBreakInSmallWindows(cut.id) == (3, "missing"))
            // Two events swapped between their links.
            let swapped = try await Self.sealedTenant(api, prefix: "tamper-r")
            try await Self.tamper(swapped.id, [
                "CREATE TEMP TABLE pair ON COMMIT DROP AS SELECT seq, event_id, occurred_at FROM audit_chain WHERE tenant_id = $1 AND seq IN (2, 3)",
                "UPDATE audit_chain c SET event_id = gen_random_uuid() WHERE tenant_id = $1 AND seq = 2",
                "UPDATE audit_chain c SET event_id = p.event_id, occurred_at = p.occurred_at FROM pair p WHERE c.tenant_id = $1 AND c.seq = 3 AND p.seq = 2",
                "UPDATE audit_chain c SET event_id = p.event_id, occurred_at = p.occurred_at FROM pair p WHERE c.tenant_id = $1 AND c.seq = 2 AND p.seq = 3",
            ])
            #expect(try await Self.firstBreak(api, swapped.slug) == (2, "reordered"))
            #expect(try await Self.firstBreakInSmallWindows(swapped.id) == (2, "reordered"))
        }
    }

    @Test func checkpointsAreSignedChainedAndChecked() async throws {
        try await Fixture.withAPI { api in
            let jarvis = try await Fixture.jarvis()
            let platform = Fixture.database("JARVIS_PLATFORM_DATABASE_URL", poolSize: 1)
            defer { Task { await platform.pool.shutdown() } }
            /// A tenant with checkpoints after its first events and after three more (the background
            /// pass may sign more): the last two checkpoints' seqs.
            func twoCheckpoints(_ prefix: String) async throws -> (slug: String, id: UUID, first: Int, second: Int) {
                let (slug, id, _) = try await Self.sealedTenant(api, prefix: prefix)
                for n in 0..<3 { _ = try await api.post("/v1/tenants/\(slug)/service-accounts", ["name": "more-\(n)"]) }
                _ = try await jarvis.auditSealer.seal(id)
                _ = try await jarvis.auditCheckpoints.pass(force: id)
                let report = try await api.get("/v1/tenants/\(slug)/audit/verify")
                try #require(report.json["intact"] as? Bool == true && report.json["checkpoints"] as? Int ?? 0 >= 2, "\(report.text)")
                let seqs = try await platform.query(
                    "SELECT seq FROM audit_checkpoints WHERE tenant_id = $1 ORDER BY seq DESC LIMIT 2", [id]
                ).all.map { try $0.int("seq") }
                try #require(seqs.count == 2 && seqs[0] == report.json["last_checkpoint_seq"] as? Int)
                return (slug, id, seqs[1], seqs[0])
            }
            // A checkpoint signed with a key nobody published.
            let forged = try await twoCheckpoints("ckpt-f")
            try await Self.tamper(forged.id, ["UPDATE audit_checkpoints SET signature = sha256('x') || sha256('y') WHERE tenant_id = $1 AND seq = \(forged.second)"])
            #expect(try await Self.firstBreak(api, forged.slug) == (forged.second, "checkpoint_forged"))
            // A checkpoint deleted: the next one names a signature nobody can find.
            let dropped = try await twoCheckpoints("ckpt-d")
            try await Self.tamper(dropped.id, ["DELETE FROM audit_checkpoints WHERE tenant_id = $1 AND seq = \(dropped.first)"])
            #expect(try await Self.firstBreak(api, dropped.slug) == (dropped.second, "checkpoint_missing"))
            // The chain's tail cut off (links and events): the last checkpoint still names it.
            let cut = try await twoCheckpoints("ckpt-t")
            try await Self.tamper(cut.id, ["DELETE FROM audit_chain WHERE tenant_id = $1 AND seq = \(cut.second)"])
            #expect(try await Self.firstBreak(api, cut.slug) == (cut.second, "missing"))
            #expect(try await Self.firstBreakInSmallWindows(cut.id) == (cut.second, "missing"))

            // Keys are published; after a rotation new checkpoints use the new key and old ones still verify.
            let published = try await api.request(.get, "/.well-known/jarvis-audit-keys.json", key: nil)
            let before = (published.json["keys"] as? [[String: any Sendable]] ?? []).compactMap { $0["kid"] as? String }
            #expect(!before.isEmpty, "\(published.text)")
            let kid = try await jarvis.auditKeys.rotate()
            let rotated = try await twoCheckpoints("ckpt-r")
            let after = try await api.request(.get, "/.well-known/jarvis-audit-keys.json", key: nil)
            let keys = after.json["keys"] as? [[String: any Sendable]] ?? []
            #expect(keys.first?["kid"] as? String == kid && keys.first?["status"] as? String == "active", "\(after.text)")
            #expect(Set(keys.compactMap { $0["kid"] as? String }).isSuperset(of: before))
            #expect(try await api.get("/v1/tenants/\(rotated.slug)/audit/verify").json["intact"] as? Bool == true)
        }
    }
}
