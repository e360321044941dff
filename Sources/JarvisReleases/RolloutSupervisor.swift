public import JarvisStore
public import Logging
internal import Foundation
internal import JarvisAudit
internal import JarvisQuota

/// Watches running rollouts without a person: every second it advances steps whose time is up
/// (and promotes after the last), and aborts a rollout whose candidate breaches a guard — the label
/// stays on stable everywhere, the audit event and a `rollout.aborted` webhook delivery name the
/// figures. Several instances may run it: each rollout is handled under its row lock.
public struct RolloutSupervisor: Sendable {
    let platform: Database
    let logger: Logger

    public init(platform: Database, logger: Logger) {
        self.platform = platform
        self.logger = logger
    }

    static let actor = AuditActor(id: nil, kind: .system, requestID: nil, clientIP: nil)

    public var service: PeriodicService {
        PeriodicService("rollouts", every: .seconds(1), logger: logger) { try await self.pass() }
    }

    /// One look at every running rollout.
    public func pass() async throws {
        let running = try await platform.query(
            "SELECT tenant_id, id FROM rollouts WHERE state = 'running' ORDER BY id LIMIT 1000", [], idempotent: true)
        for row in running.all {
            let tenantID = try row.uuid("tenant_id")
            let id = try row.uuid("id")
            do {
                try await platform.withTenant(tenantID) { tx in
                    let rollout = try await RolloutStore.get(tx, tenantID: tenantID, id: id, lock: true)
                    guard rollout.state == .running else { return }
                    if !rollout.guards.isEmpty {
                        let (stable, candidate) = try await RolloutStore.figures(tx, rollout)
                        if let breach = RolloutStore.breach(rollout.guards, stable: stable, candidate: candidate) {
                            let figures: [String: AuditValue] = [
                                "candidate_requests": .int(candidate.requests), "candidate_error_rate": .string(String(format: "%.2f", candidate.errorRate)),
                                "stable_requests": .int(stable.requests), "stable_error_rate": .string(String(format: "%.2f", stable.errorRate)),
                                "candidate_p95_ms": .optional(candidate.p95LatencyMs.map { String(format: "%.0f", $0) }),
                                "stable_p95_ms": .optional(stable.p95LatencyMs.map { String(format: "%.0f", $0) }),
                            ]
                            let aborted = try await RolloutStore.abort(tx, rollout, reason: "guard: \(breach)", actor: Self.actor, details: figures)
                            try await WebhookStore.enqueue(tx, tenantID: tenantID, event: "rollout.aborted", payload: [
                                "event": "rollout.aborted", "rollout_id": aborted.id.lowercasedString, "kind": aborted.kind.rawValue,
                                "subject": aborted.subjectName, "label": aborted.labelName, "stable_version": aborted.stableVersion.description,
                                "candidate_version": aborted.candidateVersion.description, "reason": breach,
                            ])
                            logger.warning("rollout aborted by its guard", metadata: ["rollout": "\(id)", "reason": "\(breach)"])
                            return
                        }
                    }
                    let step = rollout.steps[rollout.stepIndex]
                    let due = rollout.stepStartedAt.addingTimeInterval(Double(step.minDurationSeconds ?? 0))
                    // Steps without a minimum duration wait for a person, as do pausing ones.
                    if step.pause != true, step.minDurationSeconds != nil, Date() >= due {
                        _ = try await RolloutStore.advance(tx, rollout, actor: Self.actor)
                    }
                }
            } catch {
                logger.warning("rollout not supervised", metadata: ["rollout": "\(id)", "error": "\(error)"])
            }
        }
    }
}
