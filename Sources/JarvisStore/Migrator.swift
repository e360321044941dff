internal import Foundation
internal import JarvisCrypto

/// One `Migrations/NNNN_name.sql` file.
public struct Migration: Sendable, Equatable {
    public let version: Int
    public let name: String
    public let sql: String
    /// Hex SHA-256 of the file's bytes: an applied migration must never change.
    public let checksum: String
}

/// Applies migrations in order, each in its own transaction with its `schema_migrations` row,
/// under an advisory lock so concurrent `jarvis migrate` runs take turns.
public struct Migrator: Sendable {
    public let migrations: [Migration]

    public init(migrations: [Migration]) { self.migrations = migrations }

    /// Reads `NNNN_name.sql` files from `directory`, refusing malformed names and repeated versions.
    public static func load(directory: String) throws(StoreError) -> Migrator {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory).filter { $0.hasSuffix(".sql") }.sorted()
        } catch {
            throw .migration("cannot read migrations directory \(directory): \(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for file in names {
            let stem = file.dropLast(4)
            let parts = stem.split(separator: "_", maxSplits: 1)
            guard parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), version > 0 else {
                throw .migration("migration file \(file) is not named NNNN_name.sql")
            }
            guard let data = FileManager.default.contents(atPath: directory + "/" + file) else {
                throw .migration("cannot read migration \(file)")
            }
            if let previous = migrations.last, previous.version == version {
                throw .migration("migrations \(previous.name) and \(file) share version \(version)")
            }
            migrations.append(Migration(
                version: version, name: file, sql: String(decoding: data, as: UTF8.self),
                checksum: Hex.encode(SHA256.hash(Array(data)))
            ))
        }
        return Migrator(migrations: migrations)
    }

    /// What the database holds against what this binary knows.
    public struct Status: Sendable, Equatable {
        public var applied: [Int]
        public var pending: [Int]
    }

    static let createLedger = """
        CREATE TABLE IF NOT EXISTS schema_migrations (
            version integer PRIMARY KEY,
            name text NOT NULL,
            checksum text NOT NULL,
            applied_at timestamptz NOT NULL DEFAULT now()
        )
        """
    // Any constant works; it only has to be the same for every migrator.
    static let lockKey = 0x6A61_7276_6973  // "jarvis"

    /// Applies every pending migration. Refuses, before changing anything, when an applied file
    /// was edited or the database holds a version this binary does not know.
    /// - Returns: the names of the migrations applied now (empty when already current).
    @discardableResult
    public func migrate(_ pool: ConnectionPool) async throws(StoreError) -> [String] {
        let connection = try await pool.acquire()
        defer { pool.release(connection) }
        func run(_ sql: String, _ parameters: [any SQLBindable] = []) async throws(StoreError) -> Rows {
            try await pool.run { () throws(StoreError) in try connection.execute(sql, parameters) }
        }
        _ = try await run("SELECT pg_advisory_lock($1)", [Self.lockKey])
        do {
            _ = try await run(Self.createLedger)
            let applied = try await appliedChecksums(run)
            try verify(applied)
            var done: [String] = []
            for migration in migrations where applied[migration.version] == nil {
                do {
                    _ = try await pool.run { () throws(StoreError) in
                        _ = try connection.executeScript("BEGIN")
                        _ = try connection.executeScript(migration.sql)
                        _ = try connection.execute(
                            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                            [migration.version, migration.name, migration.checksum])
                        return try connection.executeScript("COMMIT")
                    }
                } catch {
                    if connection.isHealthy {
                        _ = try? await pool.run { () throws(StoreError) in try connection.executeScript("ROLLBACK") }
                    }
                    throw StoreError.migration("migration \(migration.name) failed: \(error)")
                }
                done.append(migration.name)
            }
            _ = try await run("SELECT pg_advisory_unlock($1)", [Self.lockKey])
            return done
        } catch let error as StoreError {
            if connection.isHealthy { _ = try? await run("SELECT pg_advisory_unlock($1)", [Self.lockKey]) }
            throw error
        } catch {
            throw .migration("\(error)")
        }
    }

    /// Compares the database with these files without changing anything (for `/readyz`).
    /// - Throws: `StoreError.migration` when an applied file was edited or is unknown.
    public func status(_ database: Database) async throws(StoreError) -> Status {
        let rows = try await database.query("SELECT version, checksum FROM schema_migrations ORDER BY version", idempotent: true)
        var applied: [Int: String] = [:]
        for row in rows.all { applied[try row.int("version")] = try row.string("checksum") }
        try verify(applied)
        return Status(
            applied: applied.keys.sorted(),
            pending: migrations.map(\.version).filter { applied[$0] == nil }
        )
    }

    private func appliedChecksums(
        _ run: (String, [any SQLBindable]) async throws(StoreError) -> Rows
    ) async throws(StoreError) -> [Int: String] {
        let rows = try await run("SELECT version, checksum FROM schema_migrations ORDER BY version", [])
        var applied: [Int: String] = [:]
        for row in rows.all { applied[try row.int("version")] = try row.string("checksum") }
        return applied
    }

    private func verify(_ applied: [Int: String]) throws(StoreError) {
        let known = Dictionary(uniqueKeysWithValues: migrations.map { ($0.version, $0) })
        for (version, checksum) in applied.sorted(by: { $0.key < $1.key }) {
            guard let migration = known[version] else {
                throw .migration("the database has migration \(version) applied, which this build does not know; deploy a newer build")
            }
            guard migration.checksum == checksum else {
                throw .migration("migration \(migration.name) was edited after it was applied (checksum \(checksum.prefix(12))… in the database, \(migration.checksum.prefix(12))… on disk); add a new migration instead")
            }
        }
    }

    /// Keeps the monthly partitions of the partitioned tables created ahead (run after migrating).
    public func ensurePartitions(_ database: Database) async throws {
        try await database.query("SELECT jarvis_ensure_monthly_partitions('audit_events', 1, 12)")
        try await database.query("SELECT jarvis_ensure_monthly_partitions('usage_events', 2, 12)")
    }
}
