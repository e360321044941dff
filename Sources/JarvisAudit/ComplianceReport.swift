public import Foundation
public import JarvisStore

/// A tenant's compliance report for a period, from its audit log: who changed roles, keys, quotas
/// and budgets, prices and statements, releases; failed logins, lockouts, refresh-token reuse; refused
/// access — each event listed, with counts per section, and whether the audit chain verifies.
public struct ComplianceReport: Sendable {
    public struct Section: Sendable {
        public let name: String
        /// Every event of the section in the period (the list stops at `maxListed`).
        public let count: Int
        public let events: [AuditEvent]
    }

    public let tenantID: UUID
    public let from: Date
    public let to: Date
    public let sections: [Section]
    public let chain: AuditVerifier.Report

    /// Which actions each section holds (by action, as the audit log names them).
    static let sections: [(name: String, pattern: String)] = [
        ("role_changes", "^(role|role_binding|permission)\\."),
        ("key_changes", "^(api_key|signing_key|audit_key)\\."),
        ("quota_changes", "^quota_policy\\.|^budget\\.(create|update|delete)$"),
        ("billing_changes", "^(price|statement)\\.|^usage\\.rerate$"),
        ("release_changes", "^(prompt|prompt_version|model|model_version|label|rollout|flag)\\."),
        ("failed_logins", "^auth\\.login_failed$"),
        ("lockouts", "^auth\\.(lockout|address_lockout)$"),
        ("token_reuse", "^auth\\.refresh_reuse$"),
        ("denied_access", "^access\\.denied$"),
    ]

    /// At most this many events per section are listed (the count is always exact).
    public static let maxListed = 10_000

    public struct Builder: Sendable {
        let app: Database

        public init(app: Database) { self.app = app }

        public func report(tenantID: UUID, from: Date, to: Date) async throws -> ComplianceReport {
            var sections: [Section] = []
            try await app.withTenant(tenantID) { tx in
                for (name, pattern) in ComplianceReport.sections {
                    let count = try await tx.query(
                        """
                        SELECT count(*) AS n FROM audit_events
                        WHERE tenant_id = $1 AND occurred_at >= $2 AND occurred_at < $3 AND action ~ $4
                        """, [tenantID, from, to, pattern]
                    ).first?.int("n") ?? 0
                    var filter = AuditLog.Filter(since: from, until: to, limit: ComplianceReport.maxListed)
                    filter.actionPattern = pattern
                    let events = try await AuditLog.list(tx, tenantID: tenantID, filter: filter)
                    sections.append(Section(name: name, count: count, events: Array(events.prefix(ComplianceReport.maxListed))))
                }
            }
            let chain = try await AuditVerifier(database: app).verify(tenantID: tenantID)
            return ComplianceReport(tenantID: tenantID, from: from, to: to, sections: sections, chain: chain)
        }
    }
}
