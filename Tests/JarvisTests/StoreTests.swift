import Foundation
import HTTPTypes
import JarvisStore
import Testing

/// The libpq wrapper against the real server: transactions, SQLSTATE mapping, timeouts, the pool.
@Suite struct StoreTests {
    @Test func aTransactionThatThrowsLeavesNothingBehind() async throws {
        let db = Fixture.database("JARVIS_OWNER_DATABASE_URL")
        defer { Task { await db.pool.shutdown() } }
        struct Boom: Error {}
        let table = "store_test_\(UUIDv7.make().lowercasedString.replacingOccurrences(of: "-", with: "").suffix(12))"
        // Temporary tables live in one session: use a transaction-scoped one and a real table to see rollback.
        try await db.query("CREATE TABLE \(table) (v int)")
        defer { Task { try? await db.query("DROP TABLE IF EXISTS \(table)") } }
        await #expect(throws: Boom.self) {
            try await db.withTransaction { tx in
                try await tx.query("INSERT INTO \(table) VALUES ($1)", [1])
                throw Boom()
            }
        }
        let count = try await db.query("SELECT count(*) AS n FROM \(table)").first?.int("n")
        #expect(count == 0)
        _ = try await db.withTransaction { tx in try await tx.query("INSERT INTO \(table) VALUES ($1)", [2]) }
        #expect(try await db.query("SELECT count(*) AS n FROM \(table)").first?.int("n") == 1)
        try await db.query("DROP TABLE \(table)")
    }

    @Test func sqlStatesBecomeTypedErrors() async throws {
        let db = Fixture.database("JARVIS_PLATFORM_DATABASE_URL")
        defer { Task { await db.pool.shutdown() } }
        await #expect(throws: StoreError.self) { try await db.query("SELECT 'nope'::uuid") }
        do {
            try await db.query("SELECT 'nope'::uuid")
        } catch let error {
            guard case .invalidValue = error else { Issue.record("expected invalidValue, got \(error)"); return }
        }
        do {
            // The platform tenant's slug is taken.
            try await db.query(
                "INSERT INTO tenants (id, slug, name) VALUES ($1, 'platform', 'dup')", [UUIDv7.make()])
            Issue.record("duplicate slug was accepted")
        } catch let error {
            guard case .uniqueViolation(let constraint, _) = error else { Issue.record("got \(error)"); return }
            #expect(constraint == "tenants_live_slug")
        }
    }

    @Test func aPreparedStatementIsPlannedOncePerConnectionAndBindsEachCall() async throws {
        let db = Fixture.database("JARVIS_PLATFORM_DATABASE_URL")
        defer { Task { await db.pool.shutdown() } }
        try await db.withTransaction { tx in
            let sql = "SELECT $1::text || '!' AS v, $2::int + 1 AS n"
            for (text, number) in [("a", 1), ("x'); DROP TABLE tenants; --", 41), ("c", 2)] {
                let row = try #require(try await tx.query(sql, [text, number], prepared: true).first)
                #expect(try row.string("v") == text + "!")
                #expect(try row.int("n") == number + 1)
            }
            // One statement prepared on this connection for the three calls.
            let prepared = try await tx.query("SELECT count(*) AS n FROM pg_prepared_statements WHERE statement = $1", [sql])
            #expect(try prepared.first?.int("n") == 1)
            // A prepared statement that fails reports the error like any other.
            await #expect(throws: StoreError.self) { try await tx.query("SELECT $1::uuid AS id", ["nope"], prepared: true) }
        }
    }

    @Test func uuidTextMatchesFoundationBothWays() {
        for _ in 0..<1_000 {
            let id = UUID()
            #expect(id.lowercasedString == id.uuidString.lowercased())
            #expect(UUID.parse(id.uuidString) == id)
            #expect(UUID.parse(id.lowercasedString) == id)
            let (high, low) = id.orderKey
            let other = UUID()
            let (otherHigh, otherLow) = other.orderKey
            #expect(((high, low) < (otherHigh, otherLow)) == (id.uuidString < other.uuidString))
        }
        for bad in ["", "nope", "0190f5c2-7b1e-7c3a-9f00-12345678901", "0190f5c2-7b1e-7c3a-9f00-1234567890123",
                    "0190f5c27b1e-7c3a-9f00-1234567890123", "0190f5c2-7b1e-7c3a-9f00-12345678901g", "{0190f5c2-7b1e-7c3a-9f00-123456789012}"] {
            #expect(UUID.parse(bad) == nil, "\(bad)")
            #expect(UUID(uuidString: bad) == nil, "Foundation agrees on \(bad)")
        }
    }

    @Test func parametersAreBoundNeverInterpolated() async throws {
        let db = Fixture.database("JARVIS_PLATFORM_DATABASE_URL")
        defer { Task { await db.pool.shutdown() } }
        let hostile = "x'); DROP TABLE tenants; --"
        let rows = try await db.query("SELECT $1::text AS v, $2::int AS n, $3::bool AS b, $4::text AS nothing", [hostile, 42, true, Optional<String>.none])
        let row = try #require(rows.first)
        #expect(try row.string("v") == hostile)
        #expect(try row.int("n") == 42)
        #expect(try row.bool("b"))
        #expect(try row.optionalString("nothing") == nil)
    }

    @Test func theStatementTimeoutCancelsSlowQueries() async throws {
        let db = Fixture.database("JARVIS_PLATFORM_DATABASE_URL", poolSize: 1, statementTimeout: 200)
        defer { Task { await db.pool.shutdown() } }
        do {
            try await db.query("SELECT pg_sleep(2)")
            Issue.record("slow query was not cancelled")
        } catch let error {
            #expect(error == .statementTimeout)
        }
        // The connection is still usable afterwards.
        #expect(try await db.query("SELECT 1 AS one").first?.int("one") == 1)
    }

    @Test func aKilledConnectionIsReplacedTransparently() async throws {
        let db = Fixture.database("JARVIS_PLATFORM_DATABASE_URL", poolSize: 1)
        let killer = Fixture.database("JARVIS_PLATFORM_DATABASE_URL", poolSize: 1)
        defer { Task { await db.pool.shutdown(); await killer.pool.shutdown() } }
        let pid = try #require(try await db.query("SELECT pg_backend_pid() AS pid").first?.int("pid"))
        #expect(try await killer.query("SELECT pg_terminate_backend($1) AS ok", [pid]).first?.bool("ok") == true)
        // The pooled connection is dead; a transaction finds that at BEGIN and takes a new one.
        let newPID = try await db.withTransaction { tx in
            try #require(try await tx.query("SELECT pg_backend_pid() AS pid").first?.int("pid"))
        }
        #expect(newPID != pid)
        #expect(db.pool.usage.open == 1)
    }

    @Test func callersBeyondThePoolSizeWaitTheirTurn() async throws {
        let db = Fixture.database("JARVIS_PLATFORM_DATABASE_URL", poolSize: 2)
        defer { Task { await db.pool.shutdown() } }
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<12 {
                group.addTask {
                    try await db.withTransaction { tx in
                        try await tx.query("SELECT pg_sleep(0.02)")
                        return try #require(try await tx.query("SELECT $1::int AS i", [i]).first?.int("i"))
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(results.sorted() == Array(0..<12))
        #expect(db.pool.usage.open <= 2)
    }

    @Test func aCallerThatWaitsTooLongGetsPoolTimeout() async throws {
        let db = Fixture.database("JARVIS_PLATFORM_DATABASE_URL", poolSize: 1, acquireTimeout: 100)
        defer { Task { await db.pool.shutdown() } }
        async let holder: Void = db.withTransaction { tx in _ = try await tx.query("SELECT pg_sleep(0.6)") }
        try await Task.sleep(for: .milliseconds(100))
        do {
            try await db.query("SELECT 1")
            Issue.record("acquire did not time out")
        } catch let error {
            #expect(error == .poolTimeout)
        }
        try await holder
        #expect(try await db.query("SELECT 1 AS one").first?.int("one") == 1)
    }

    @Test func anUnreachableServerIsAConnectionFailure() async throws {
        let db = Database(
            name: "down", configuration: DatabaseConfiguration(
                connectionString: "postgresql://nobody:nothing@127.0.0.1:1/none", poolSize: 1, connectTimeoutSeconds: 2),
            logger: Fixture.logger)
        defer { Task { await db.pool.shutdown() } }
        do {
            try await db.query("SELECT 1")
            Issue.record("connected to nothing")
        } catch let error {
            guard case .connectionFailed = error else { Issue.record("got \(error)"); return }
        }
        #expect(db.pool.usage.open == 0)
    }
}

@Suite struct StoreInputTests {
    @Test func textWithNULIsRefusedNotTruncated() async throws {
        let db = Fixture.database("JARVIS_PLATFORM_DATABASE_URL", poolSize: 1)
        defer { Task { await db.pool.shutdown() } }
        do {
            try await db.query("SELECT $1::text AS v", ["platform\u{0}junk"])
            Issue.record("NUL was accepted")
        } catch let error {
            guard case .invalidValue = error else { Issue.record("got \(error)"); return }
        }
    }
}
