internal import ArgumentParser
internal import Foundation
internal import JarvisAccess
internal import JarvisAudit
internal import JarvisConfiguration
internal import JarvisStore
internal import JarvisTenancy

/// `jarvis audit verify`: recomputes audit chains straight from PostgreSQL (the platform role) and
/// names the first broken link of each tenant. Exits 1 when any chain is broken.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Audit log integrity.", subcommands: [Verify.self, RotateKey.self])

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Verify the audit hash chain of one tenant, or of every tenant.")

        @Option(help: "One tenant, by slug or id (default: every tenant).") var tenant: String?

        func run() async throws {
            let logger = Environment.logger()
            let configuration = try Environment.configuration()
            let reference = tenant
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
                    let report = try await verifier.verify(tenantID: tenant.id)
                    if let at = report.firstBreak {
                        broken += 1
                        print("\(tenant.slug)\tBROKEN\tseq \(at.seq)\t\(at.kind.rawValue)\tevent \(at.eventID?.lowercasedString ?? "-")\t(\(report.checked) links hold before it)")
                    } else {
                        print("\(tenant.slug)\tok\t\(report.checked) links\thead \(report.headSeq) \(report.headHash)\t\(report.checkpoints) checkpoints (last at \(report.lastCheckpointSeq))\t\(report.unsealed) waiting to be sealed")
                    }
                }
                return broken
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
}
