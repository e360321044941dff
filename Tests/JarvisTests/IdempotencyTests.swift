import Foundation
import HTTPTypes
import JarvisCrypto
import JarvisHTTP
import JarvisStore
import Testing

@Suite struct IdempotencyTests {
    static let header = HTTPField.Name("Idempotency-Key")!

    @Test func aRetriedCreateReturnsTheFirstAnswerAndCreatesOnce() async throws {
        try await Fixture.withAPI { api in
            let slug = Fixture.uniqueSlug("idem")
            let body = API.encode(["slug": slug, "name": "Once"])
            let key = UUID().uuidString
            let first = try await api.request(.post, "/v1/tenants", key: api.adminKey, body: body, headers: [Self.header: key])
            #expect(first.status == .created)
            let second = try await api.request(.post, "/v1/tenants", key: api.adminKey, body: body, headers: [Self.header: key])
            #expect(second.status == .created)
            #expect(second.text == first.text)
            #expect(second.headers[HTTPField.Name("Idempotent-Replayed")!] == "true")
            #expect(second.headers[.location] == first.headers[.location])
            let id = try #require(first["id"])
            let events = try await Fixture.platform.query("SELECT count(*) AS n FROM audit_events WHERE target_id = $1 AND action = 'tenant.create'", [id])
            #expect(try events.first?.int("n") == 1)
            // The same key with another request is refused.
            let other = try await api.request(
                .post, "/v1/tenants", key: api.adminKey, body: API.encode(["slug": slug + "x", "name": "Other"]), headers: [Self.header: key])
            other.expectProblem(.unprocessableContent, code: "idempotency-key-mismatch")
        }
    }

    /// The write and its stored answer are one commit: when the answer cannot be stored (here a
    /// trigger refuses it; in life, an instance killed in between), the write is gone too and the
    /// key is free, so the retry runs the request once instead of conflicting with its own write.
    @Test func theWriteAndItsAnswerCommitTogether() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "idem-atomic")
            let owner = Fixture.database("JARVIS_OWNER_DATABASE_URL")
            let key = "poison-\(UUID().uuidString)"
            let trigger = "idem_poison_\(UUIDv7.make().lowercasedString.replacingOccurrences(of: "-", with: "").suffix(12))"
            try await owner.query(
                """
                CREATE FUNCTION \(trigger)() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'answer refused by the test'; END $$
                """)
            try await owner.query(
                """
                CREATE TRIGGER \(trigger) BEFORE UPDATE ON idempotency_keys FOR EACH ROW
                WHEN (NEW.key = '\(key)' AND NEW.status IS NOT NULL) EXECUTE FUNCTION \(trigger)()
                """)
            let path = "/v1/tenants/\(t.slug)/service-accounts"
            let body = API.encode(["name": "atomic"])
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            func count(_ sql: String) async throws -> Int {
                try await Fixture.platform.query(sql, [tenantID]).first?.int("n") ?? -1
            }
            let auditCount = "SELECT count(*) AS n FROM audit_events WHERE tenant_id = $1 AND action = 'service_account.create'"
            let audited = try await count(auditCount)
            let refused = try await api.request(.post, path, key: t.adminKey, body: body, headers: [Self.header: key])
            try await owner.query("DROP TRIGGER \(trigger) ON idempotency_keys")
            try await owner.query("DROP FUNCTION \(trigger)()")
            await owner.pool.shutdown()
            #expect(refused.status.code >= 500, "\(refused.text)")
            #expect(try await count("SELECT count(*) AS n FROM principals WHERE tenant_id = $1 AND name = 'atomic'") == 0)
            #expect(try await count(auditCount) == audited)
            // The retry runs for real, once.
            let retried = try await api.request(.post, path, key: t.adminKey, body: body, headers: [Self.header: key])
            #expect(retried.status == .created, "\(retried.text)")
            #expect(try await count("SELECT count(*) AS n FROM principals WHERE tenant_id = $1 AND name = 'atomic'") == 1)
            let replay = try await api.request(.post, path, key: t.adminKey, body: body, headers: [Self.header: key])
            #expect(replay.status == .created && replay.text == retried.text)
        }
    }

    @Test func keysBelongToOnePrincipal() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "idem2")
            let key = UUID().uuidString
            let body = API.encode(["name": "worker"])
            let a = try await api.request(.post, "/v1/tenants/\(t.slug)/service-accounts", key: t.adminKey, body: body, headers: [Self.header: key])
            #expect(a.status == .created)
            // Another principal with the same key is a different request stream: it runs (and conflicts on the name).
            let b = try await api.request(.post, "/v1/tenants/\(t.slug)/service-accounts", key: api.adminKey, body: body, headers: [Self.header: key])
            b.expectProblem(.conflict, code: "conflict")
        }
    }

    @Test func aFailedRequestsAnswerIsKeptToo() async throws {
        try await Fixture.withAPI { api in
            let key = UUID().uuidString
            let body = API.encode(["slug": "Bad Slug", "name": "x"])
            let first = try await api.request(.post, "/v1/tenants", key: api.adminKey, body: body, headers: [Self.header: key])
            first.expectProblem(.badRequest)
            let again = try await api.request(.post, "/v1/tenants", key: api.adminKey, body: body, headers: [Self.header: key])
            #expect(again.status == .badRequest && again.text == first.text)
        }
    }

    @Test func malformedKeysAreRefused() async throws {
        try await Fixture.withAPI { api in
            let long = String(repeating: "k", count: 256)
            for bad in [long, "has space", "tab\there"] {
                let response = try await api.request(
                    .post, "/v1/tenants", key: api.adminKey, body: API.encode(["slug": Fixture.uniqueSlug(), "name": "x"]),
                    headers: [Self.header: bad])
                response.expectProblem(.badRequest)
            }
        }
    }

    /// A reservation whose instance is gone (crashed, killed) is taken over at once by a retry; one
    /// whose instance lives is "in progress".
    @Test func aReservationOfADeadInstanceIsTakenOverAtOnce() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "idem-dead")
            let tenantID = try #require(UUID(uuidString: t.tenantID))
            let principalID = try #require(UUID(uuidString: t.adminID))
            let body = API.encode(["name": "orphan"])
            let path = "/v1/tenants/\(t.slug)/service-accounts"
            // The fingerprint the middleware keeps: method, path, query, body.
            let hash = SHA256.hash(Array("POST \(path)?\n".utf8) + Array(body.utf8))
            func reserve(_ key: String, owner: Int32) async throws {
                try await Fixture.app.withTenant(tenantID) { tx in
                    try await tx.query(
                        "INSERT INTO idempotency_keys (tenant_id, principal_id, key, request_hash, owner) VALUES ($1, $2, $3, $4, $5)",
                        [tenantID, principalID, key, ByteaValue(hash), owner])
                }
            }
            // Held by a live instance (this process): in progress.
            let live = UUID().uuidString
            try await reserve(live, owner: try await Fixture.jarvis().instance.key)
            try await api.request(.post, "/v1/tenants/\(t.slug)/service-accounts", key: t.adminKey, body: body, headers: [Self.header: live])
                .expectProblem(.conflict, code: "idempotency-key-in-progress")
            // Held by an instance whose session is gone: the retry runs now.
            let orphan = UUID().uuidString
            var dead = Int32.random(in: 1...Int32.max)
            let ours = try await Fixture.jarvis().instance.key
            while dead == ours { dead = Int32.random(in: 1...Int32.max) }
            try await reserve(orphan, owner: dead)
            let retried = try await api.request(.post, "/v1/tenants/\(t.slug)/service-accounts", key: t.adminKey, body: body, headers: [Self.header: orphan])
            #expect(retried.status == .created, "\(retried.text)")
        }
    }
}
