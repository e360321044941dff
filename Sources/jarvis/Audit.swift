internal import ArgumentParser
internal import Foundation
internal import JarvisAccess
internal import JarvisAudit
internal import JarvisConfiguration
internal import JarvisStore
internal import JarvisTenancy
internal import Logging

/// `jarvis audit verify`: recomputes audit chains straight from PostgreSQL (the platform role) and
/// names the first broken link of each tenant. Exits 1 when any chain is broken.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Audit log integrity.", subcommands: [Verify.self, RotateKey.self, Archive.self, Restore.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify the audit hash chain of one tenant, or of every tenant.")

        @Option(help: "One tenant, by slug or id (default: every tenant).") var tenant: String?
        @Option(help: "Also prove every archived, detached month from the files in this directory.") var archiveDir: String?
        @Option(help: "Only events that occurred at or after this time (RFC 3339).") var from: String?
        @Option(help: "Only events that occurred before this time (RFC 3339).") var to: String?

        func run() async throws {
            let logger = Environment.logger()
            let configuration = try Environment.configuration()
            let reference = tenant
            let range = try [from, to].map { text in
                try text.map { text in
                    guard let date = Timestamp.parse(text) else { throw ExitMessage("audit verify: '\(text)' is not an RFC 3339 time") }
                    return date
                }
            }
            let broken = try await Database.using(name: "platform", configuration: configuration.platformDatabase, logger: logger) { platform in
                let directory = Tenants(platform: platform)
                var tenants: [Tenant] = []
                if let reference {
                    guard let found = try await directory.get(reference) else { throw ExitMessage("audit verify: no tenant '\(reference)'") }
                    tenants = [found]
                } else {
                    var after: UUID?
                    while true {
                        // `list` reads one more than the limit, to say whether more follow.
                        let page = try await directory.list(after: after, limit: 500)
                        tenants += page.prefix(500)
                        guard page.count > 500, let last = page.prefix(500).last else { break }
                        after = last.id
                    }
                }
                let verifier = AuditVerifier(database: platform)
                var broken = 0
                for tenant in tenants {
                    let report = try await verifier.verify(tenantID: tenant.id, from: range[0], to: range[1])
                    if let at = report.firstBreak {
                        broken += 1
                        print("\(tenant.slug)\tBROKEN\tseq \(at.seq)\t\(at.kind.rawValue)\tevent \(at.eventID?.lowercasedString ?? "-")\t(\(report.checked) links hold before it)")
                    } else {
                        print("\(tenant.slug)\tok\t\(report.checked) links\thead \(report.headSeq) \(report.headHash)\t\(report.checkpoints) checkpoints (last at \(report.lastCheckpointSeq))\t\(report.unsealed) waiting to be sealed")
                    }
                }
                guard let directory = archiveDir else { return broken }
                // The live chains hold the archived links' places; the files prove their events.
                return try await Audit.withOwner(configuration, logger: logger) { owner in
                    let archive = AuditArchive(platform: platform, owner: owner, directory: directory)
                    var failed = broken
                    for month in try await platform.query("SELECT month::timestamptz AS month FROM audit_months WHERE detached ORDER BY month").all {
                        let date = try month.date("month")
                        do {
                            let proven = try await archive.verify(date)
                            print("archive \(proven.month)\tok\t\(proven.links) links of \(proven.tenants) tenants")
                        } catch let error as AuditArchive.ArchiveError {
                            failed += 1
                            print("archive \(String(Timestamp.format(date).prefix(7)))\tBROKEN\t\(error)")
                        }
                    }
                    return failed
                }
            }
            if broken > 0 { throw ExitCode(1) }
        }
    }

    struct RotateKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-key", abstract: "A new Ed25519 key signs audit checkpoints from now on; the old one stays published.")

        func run() async throws {
            let logger = Environment.logger()
            let configuration = try Environment.configuration()
            let kid = try await Database.using(name: "platform", configuration: configuration.platformDatabase, logger: logger) { platform in
                try await AuditKeys(platform: platform, masterKey: configuration.masterKey, auditTenantID: PlatformTenant.id).rotate()
            }
            print(kid)
        }
    }

    /// Runs `body` with the migration role's database (partitions are its to detach and attach).
    static func withOwner<T: Sendable>(
        _ configuration: ServerConfiguration, logger: Logger, _ body: (Database) async throws -> T
    ) async throws -> T {
        guard let owner = configuration.ownerDatabase else { throw ExitMessage("configuration: JARVIS_OWNER_DATABASE_URL is not set") }
        return try await Database.using(name: "owner", configuration: owner, logger: logger, body)
    }

    /// Where archives go: `--dir`, else `JARVIS_AUDIT_ARCHIVE_DIR`, else `./audit-archive`.
    static func archiveDirectory(_ option: String?) -> String {
        option ?? ProcessInfo.processInfo.environment["JARVIS_AUDIT_ARCHIVE_DIR"] ?? "audit-archive"
    }

    struct Archive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Archive audit months past the hot window: files written and checked, then the partitions detached and dropped.")

        @Option(help: "One month, YYYY-MM (default: every month older than --keep-months).") var month: String?
        @Option(help: "Months kept live before the current one (default: JARVIS_AUDIT_HOT_MONTHS, else 12).") var keepMonths: Int?
        @Option(help: "The archive directory (default: JARVIS_AUDIT_ARCHIVE_DIR, else ./audit-archive).") var dir: String?

        func run() async throws {
            let logger = Environment.logger()
            let configuration = try Environment.configuration()
            let keep = keepMonths ?? ProcessInfo.processInfo.environment["JARVIS_AUDIT_HOT_MONTHS"].flatMap(Int.init) ?? 12
            guard keep >= 0 else { throw ExitMessage("audit archive: --keep-months must not be negative") }
            let chosen = try month.map { try AuditArchive.month($0) }
            let directory = Audit.archiveDirectory(dir)
            try await Database.using(name: "platform", configuration: configuration.platformDatabase, logger: logger) { platform in
                try await Audit.withOwner(configuration, logger: logger) { owner in
                    let archive = AuditArchive(platform: platform, owner: owner, directory: directory)
                    let months: [Date]
                    if let chosen { months = [chosen] } else { months = try await archive.monthsPastHotWindow(keepMonths: keep) }
                    for month in months {
                        do {
                            let done = try await archive.archive(month)
                            print("\(done.month)\tarchived\t\(done.links) links of \(done.tenants) tenants\t\(directory)/\(done.month)")
                        } catch let error as AuditArchive.ArchiveError {
                            throw ExitMessage(error.description)
                        }
                    }
                    if months.isEmpty { print("nothing to archive: no month older than \(keep) months is attached") }
                }
            }
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring an archived audit month back: files checked against the chain, events loaded and attached as they were.")

        @Option(help: "The month, YYYY-MM.") var month: String
        @Option(help: "The archive directory (default: JARVIS_AUDIT_ARCHIVE_DIR, else ./audit-archive).") var dir: String?

        func run() async throws {
            let logger = Environment.logger()
            let configuration = try Environment.configuration()
            let chosen = try AuditArchive.month(month)
            let directory = Audit.archiveDirectory(dir)
            try await Database.using(name: "platform", configuration: configuration.platformDatabase, logger: logger) { platform in
                try await Audit.withOwner(configuration, logger: logger) { owner in
                    do {
                        let done = try await AuditArchive(platform: platform, owner: owner, directory: directory).restore(chosen)
                        print("\(done.month)\trestored\t\(done.links) links of \(done.tenants) tenants")
                    } catch let error as AuditArchive.ArchiveError {
                        throw ExitMessage(error.description)
                    }
                }
            }
        }
    }
}
