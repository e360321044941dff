import Foundation
import JarvisAudit
import JarvisHTTP
import JarvisStore
import Testing

/// The audit log's cold tier: a month archived to files still verifies (the chain walks across it,
/// the files prove its events), a changed file is found, and a restored month reads back identical.
@Suite struct AuditArchiveTests {
    @Test func anArchivedMonthStillVerifiesAndARestoredOneReadsBackIdentical() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "arch")
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            let owner = Fixture.database("JARVIS_OWNER_DATABASE_URL", poolSize: 1)
            defer { Task { await owner.pool.shutdown() } }
            // A month of this run's own, centuries back, so no other test or run shares its partition.
            let year = 1100 + Int.random(in: 0..<900), monthNumber = Int.random(in: 1...12)
            let label = String(format: "%04d-%02d", year, monthNumber)
            let month = try AuditArchive.month(label)
            let end = try AuditArchive.month(monthNumber == 12 ? String(format: "%04d-01", year + 1) : String(format: "%04d-%02d", year, monthNumber + 1))
            let partition = "audit_events_" + label.replacingOccurrences(of: "-", with: "_")
            try await owner.withTransaction { tx in
                try await tx.query(
                    "CREATE TABLE \(partition) PARTITION OF audit_events FOR VALUES FROM ('\(Timestamp.format(month))') TO ('\(Timestamp.format(end))')")
                try await tx.query("ALTER TABLE \(partition) ENABLE ROW LEVEL SECURITY")
                try await tx.query("ALTER TABLE \(partition) FORCE ROW LEVEL SECURITY")
            }
            // Events of that month (one with a decimal the restore must keep digit for digit, one
            // with a person's email), then events of today, all sealed and signed.
            for n in 0..<5 {
                try await Fixture.platform.query(
                    """
                    INSERT INTO audit_events (tenant_id, id, occurred_at, actor_kind, action, target_type, target_id, outcome, details)
                    VALUES ($1, $2, $3, 'system', 'test.archived', $4, $5, 'success', $6::jsonb)
                    """,
                    [tenantID, UUIDv7.make(), month.addingTimeInterval(Double(n) * 86_400 + 0.123456), n == 0 ? "user" : "test",
                     n == 0 ? UUIDv7.make().lowercasedString : "t\(n)", JSONText(n == 0 ? #"{"email": "old@example.com"}"# : #"{"n": \#(n), "amount": 1.50}"#)])
            }
            for n in 0..<2 { _ = try await api.post("/v1/tenants/\(t.slug)/service-accounts", ["name": "now-\(n)"], key: t.adminKey) }
            let jarvis = try await Fixture.jarvis()
            _ = try await jarvis.auditSealer.seal(tenantID)
            _ = try await jarvis.auditCheckpoints.pass(force: tenantID)
            func monthRows() async throws -> [String] {
                try await Fixture.platform.query(
                    "SELECT row_to_json(e)::text AS r FROM audit_events e WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 ORDER BY id",
                    [tenantID, month, end]
                ).all.map { try $0.string("r") }
            }
            func verify() async throws -> [String: any Sendable] {
                try await api.get("/v1/tenants/\(t.slug)/audit/verify", key: t.adminKey).json
            }
            let before = try await monthRows()
            try #require(before.count == 5)
            try #require(try await verify()["intact"] as? Bool == true)

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("jarvis-archive-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let archive = AuditArchive(platform: Fixture.platform, owner: owner, directory: directory)
            let archived = try await archive.archive(month)
            #expect(archived.links == 5 && archived.tenants == 1, "\(archived)")
            // The partition is gone and its events with it; the chain still verifies across them.
            #expect(try await owner.query("SELECT to_regclass($1) IS NULL AS gone", [partition]).first?.bool("gone") == true)
            #expect(try await monthRows().isEmpty)
            let across = try await verify()
            #expect(across["intact"] as? Bool == true && across["archived"] as? Int == 5, "\(across)")
            // The files prove the month's events; a file changed afterwards is found.
            #expect(try await archive.verify(month).links == 5)
            let file = try #require(try FileManager.default.subpathsOfDirectory(atPath: directory).first { $0.hasSuffix(".ndjson.gz") })
            let path = directory + "/" + file
            let original = try #require(FileManager.default.contents(atPath: path))
            var changed = original
            changed[changed.count / 2] ^= 0x01
            try changed.write(to: URL(fileURLWithPath: path))
            await #expect(throws: AuditArchive.ArchiveError.self) { try await archive.verify(month) }
            try original.write(to: URL(fileURLWithPath: path))

            // Restored for an investigation: the same rows, byte for byte, and the chain whole again.
            let restored = try await archive.restore(month)
            #expect(restored.links == 5)
            #expect(try await monthRows() == before)
            let whole = try await verify()
            #expect(whole["intact"] as? Bool == true && whole["archived"] as? Int == 0, "\(whole)")
            // Archiving and restoring are audited in the platform's log.
            let actions = try await api.get("/v1/tenants/platform/audit-events?target_type=audit_month&target_id=\(label)").items.compactMap { $0["action"] as? String }
            #expect(Set(actions) == ["audit.archive", "audit.restore"])
            // Tidy: the partition goes again (archived), so the test database keeps no stray centuries.
            _ = try await archive.archive(month)
        }
    }
}
