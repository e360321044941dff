import Foundation
import HTTPTypes
import JarvisStore
import Testing

@Suite struct MigrationTests {
    static let directory = Fixture.repositoryRoot + "/Migrations"

    @Test func applyingTwiceIsANoOp() async throws {
        let owner = Fixture.database("JARVIS_OWNER_DATABASE_URL", poolSize: 1, statementTimeout: 120_000)
        defer { Task { await owner.pool.shutdown() } }
        let migrator = try Migrator.load(directory: Self.directory)
        _ = try await migrator.migrate(owner.pool)
        #expect(try await migrator.migrate(owner.pool).isEmpty)
        let status = try await migrator.status(owner)
        #expect(status.pending.isEmpty)
        #expect(status.applied == migrator.migrations.map(\.version))
    }

    @Test func anEditedAppliedMigrationIsRefusedBeforeAnythingChanges() async throws {
        let owner = Fixture.database("JARVIS_OWNER_DATABASE_URL", poolSize: 1, statementTimeout: 120_000)
        defer { Task { await owner.pool.shutdown() } }
        _ = try await Migrator.load(directory: Self.directory).migrate(owner.pool)

        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.copyItem(atPath: Self.directory, toPath: copy.path)
        defer { try? FileManager.default.removeItem(at: copy) }
        let first = try #require(try FileManager.default.contentsOfDirectory(atPath: copy.path).sorted().first)
        let path = copy.appendingPathComponent(first).path
        try (String(contentsOfFile: path, encoding: .utf8) + "\n-- an innocent-looking edit\n").write(toFile: path, atomically: true, encoding: .utf8)
        // And a new migration after it, which must not run either.
        try "CREATE TABLE must_not_exist (x int);".write(
            toFile: copy.appendingPathComponent("9999_never.sql").path, atomically: true, encoding: .utf8)

        do {
            try await Migrator.load(directory: copy.path).migrate(owner.pool)
            Issue.record("edited migration was accepted")
        } catch let error {
            guard case .migration(let message) = error else { Issue.record("got \(error)"); return }
            #expect(message.contains("edited after it was applied"))
        }
        #expect(try await owner.query("SELECT to_regclass('must_not_exist') IS NULL AS missing").first?.bool("missing") == true)
    }

    @Test func aDatabaseAheadOfTheBuildIsRefused() async throws {
        let owner = Fixture.database("JARVIS_OWNER_DATABASE_URL", poolSize: 1)
        defer { Task { await owner.pool.shutdown() } }
        _ = try await Migrator.load(directory: Self.directory).migrate(owner.pool)
        await #expect(throws: StoreError.self) { try await Migrator(migrations: []).status(owner) }
    }

    @Test func malformedFileNamesAreRefused() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("migrations-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "SELECT 1;".write(toFile: dir.appendingPathComponent("1_short.sql").path, atomically: true, encoding: .utf8)
        #expect(throws: StoreError.self) { try Migrator.load(directory: dir.path) }
    }
}
