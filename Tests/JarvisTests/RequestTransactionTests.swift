import Foundation
import JarvisStore
import Testing

/// One transaction for a request's units of work: they commit together or not at all, and a unit
/// that fails undoes only itself.
@Suite struct RequestTransactionTests {
    struct Boom: Error {}

    /// A table of its own, owned by the test, with values only this test writes.
    private static func withTable(_ body: (Database, String) async throws -> Void) async throws {
        let db = Fixture.database("JARVIS_OWNER_DATABASE_URL", poolSize: 3)
        let table = "reqtx_\(UUIDv7.make().lowercasedString.replacingOccurrences(of: "-", with: "").suffix(12))"
        try await db.query("CREATE TABLE \(table) (v int)")
        do {
            try await body(db, table)
        } catch {
            _ = try? await db.query("DROP TABLE \(table)")
            await db.pool.shutdown()
            throw error
        }
        try await db.query("DROP TABLE \(table)")
        await db.pool.shutdown()
    }

    private static func values(_ db: Database, _ table: String) async throws -> [Int] {
        try await db.query("SELECT v FROM \(table) ORDER BY v").all.map { try $0.int("v") }
    }

    @Test func unitsCommitOnlyWithTheRequestAndVanishWithItsRollback() async throws {
        try await Self.withTable { db, table in
            let shared = RequestTransaction(for: db)
            try await RequestTransaction.$current.withValue(shared) {
                try await db.withTransaction { tx in try await tx.query("INSERT INTO \(table) VALUES (1)") }
                try await db.withTransaction { tx in try await tx.query("INSERT INTO \(table) VALUES (2)") }
                // Outside the request (another connection, another task) nothing is visible yet.
                let seen = try await Task.detached { try await Self.values(db, table) }.value
                #expect(seen == [])
            }
            await shared.rollback()
            #expect(try await Self.values(db, table) == [])

            let kept = RequestTransaction(for: db)
            try await RequestTransaction.$current.withValue(kept) {
                try await db.withTransaction { tx in try await tx.query("INSERT INTO \(table) VALUES (3)") }
            }
            let committed = try await kept.commit { tx in try await tx.query("INSERT INTO \(table) VALUES (4)") }
            #expect(committed)
            #expect(try await Self.values(db, table) == [3, 4])
            // Closed: later work runs on its own again.
            try await RequestTransaction.$current.withValue(kept) {
                try await db.withTransaction { tx in try await tx.query("INSERT INTO \(table) VALUES (5)") }
            }
            #expect(try await Self.values(db, table) == [3, 4, 5])
        }
    }

    @Test func aFailedUnitUndoesOnlyItself() async throws {
        try await Self.withTable { db, table in
            let shared = RequestTransaction(for: db)
            try await RequestTransaction.$current.withValue(shared) {
                try await db.withTransaction { tx in try await tx.query("INSERT INTO \(table) VALUES (1)") }
                await #expect(throws: Boom.self) {
                    try await db.withTransaction { tx in
                        try await tx.query("INSERT INTO \(table) VALUES (2)")
                        throw Boom()
                    }
                }
                // A statement error aborts only the unit's savepoint, not the request.
                await #expect(throws: StoreError.self) {
                    try await db.withTransaction { tx in try await tx.query("INSERT INTO \(table) VALUES ('x')") }
                }
                try await db.withTransaction { tx in try await tx.query("INSERT INTO \(table) VALUES (3)") }
            }
            #expect(try await shared.commit { _ in })
            #expect(try await Self.values(db, table) == [1, 3])
        }
    }

    @Test func workItCannotTakeRunsOnItsOwn() async throws {
        try await Self.withTable { db, table in
            // Nothing joined: nothing to commit with.
            let idle = RequestTransaction(for: db)
            #expect(try await idle.commit { _ in Issue.record("nothing joined, nothing to store with") } == false)

            // Another pool, and a unit nested in a running one, commit on their own at once.
            let other = Fixture.database("JARVIS_OWNER_DATABASE_URL")
            let shared = RequestTransaction(for: db)
            try await RequestTransaction.$current.withValue(shared) {
                try await other.withTransaction { tx in try await tx.query("INSERT INTO \(table) VALUES (1)") }
                try await db.withTransaction { tx in
                    try await tx.query("INSERT INTO \(table) VALUES (2)")
                    try await db.withTransaction { nested in try await nested.query("INSERT INTO \(table) VALUES (3)") }
                }
            }
            await other.pool.shutdown()
            await shared.rollback()
            #expect(try await Self.values(db, table) == [1, 3])
        }
    }
}
