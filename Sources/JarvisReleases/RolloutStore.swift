internal import Foundation
internal import JarvisAudit
internal import JarvisStore

/// Rollout rows and their state changes, inside a transaction of the rollout's tenant; every
/// change audited there. Used by the `Rollouts` service (people) and the `RolloutSupervisor`
/// (step timers and guards), so both act alike.
enum RolloutStore {
    static let columns = """
        id, tenant_id, label_id, kind, subject_name, label_name, stable_version_id, stable_version, candidate_version_id, candidate_version,
        steps::text AS steps, step_index, percent, state, guards::text AS guards, step_started_at, abort_reason, created_at, finished_at
        """

    static func decode(_ row: Row) throws -> Rollout {
        Rollout(
            id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"), labelID: try row.uuid("label_id"),
            kind: ReleaseKind(rawValue: try row.string("kind")) ?? .prompt, subjectName: try row.string("subject_name"),
            labelName: try row.string("label_name"), stableVersionID: try row.uuid("stable_version_id"),
            stableVersion: Semver(try row.string("stable_version")) ?? Semver("0.0.0")!, candidateVersionID: try row.uuid("candidate_version_id"),
            candidateVersion: Semver(try row.string("candidate_version")) ?? Semver("0.0.0")!,
            steps: try JSONText.decode([Rollout.Step].self, try row.string("steps")), stepIndex: try row.int("step_index"),
            percent: try row.int("percent"), state: Rollout.State(rawValue: try row.string("state")) ?? .aborted,
            guards: try JSONText.decode(Rollout.Guards.self, try row.string("guards")), stepStartedAt: try row.date("step_started_at"),
            abortReason: try row.optionalString("abort_reason"), createdAt: try row.date("created_at"), finishedAt: try row.optionalDate("finished_at"))
    }

    static func get(_ tx: Transaction, tenantID: UUID, id: UUID, lock: Bool = false) async throws -> Rollout {
        guard let row = try await tx.query(
            "SELECT \(columns) FROM rollouts WHERE tenant_id = $1 AND id = $2\(lock ? " FOR UPDATE" : "")", [tenantID, id]
        ).first else { throw ReleaseError.notFound("rollout \(id.lowercasedString)") }
        return try decode(row)
    }

    static func audit(_ tx: Transaction, _ rollout: Rollout, _ action: String, actor: AuditActor, details: [String: AuditValue] = [:]) async throws {
        var all = details
        all["kind"] = .string(rollout.kind.rawValue)
        all["subject"] = .string(rollout.subjectName)
        all["label"] = .string(rollout.labelName)
        all["stable_version"] = .string(rollout.stableVersion.description)
        all["candidate_version"] = .string(rollout.candidateVersion.description)
        // Every rollout change alters who gets which version: this instance's resolver drops the tenant at commit.
        tx.noteChange(rollout.tenantID)
        try await AuditLog.record(
            tx, tenantID: rollout.tenantID, actor: actor, action: "rollout.\(action)", targetType: "rollout", targetID: rollout.id.lowercasedString,
            details: all)
    }

    /// The next step, or the promotion after the last.
    static func advance(_ tx: Transaction, _ rollout: Rollout, actor: AuditActor) async throws -> Rollout {
        guard rollout.isActive else { throw ReleaseError.conflict("the rollout is \(rollout.state.rawValue)") }
        let next = rollout.stepIndex + 1
        guard next < rollout.steps.count else { return try await promote(tx, rollout, actor: actor) }
        try await tx.query(
            """
            UPDATE rollouts SET step_index = $3, percent = $4, state = 'running', step_started_at = now() WHERE tenant_id = $1 AND id = $2
            """, [rollout.tenantID, rollout.id, next, rollout.steps[next].percent])
        let updated = try await get(tx, tenantID: rollout.tenantID, id: rollout.id)
        try await audit(tx, updated, "advance", actor: actor, details: ["step": .int(next), "percent": .int(updated.percent)])
        return updated
    }

    static func setPaused(_ tx: Transaction, _ rollout: Rollout, paused: Bool, actor: AuditActor) async throws -> Rollout {
        guard rollout.isActive else { throw ReleaseError.conflict("the rollout is \(rollout.state.rawValue)") }
        guard (rollout.state == .paused) != paused else { throw ReleaseError.conflict("the rollout is already \(rollout.state.rawValue)") }
        // Resuming restarts the step's clock: a pause is not time the candidate was watched.
        try await tx.query(
            "UPDATE rollouts SET state = $3, step_started_at = CASE WHEN $3 = 'running' THEN now() ELSE step_started_at END WHERE tenant_id = $1 AND id = $2",
            [rollout.tenantID, rollout.id, paused ? "paused" : "running"])
        let updated = try await get(tx, tenantID: rollout.tenantID, id: rollout.id)
        try await audit(tx, updated, paused ? "pause" : "resume", actor: actor)
        return updated
    }

    /// The candidate becomes the label's target, on every instance with this commit.
    static func promote(_ tx: Transaction, _ rollout: Rollout, actor: AuditActor) async throws -> Rollout {
        guard rollout.isActive else { throw ReleaseError.conflict("the rollout is \(rollout.state.rawValue)") }
        guard let label = try await tx.query(
            "SELECT subject_id FROM release_labels WHERE tenant_id = $1 AND id = $2", [rollout.tenantID, rollout.labelID]
        ).first else { throw ReleaseError.notFound("label of rollout \(rollout.id.lowercasedString)") }
        try await LabelStore.move(
            tx, tenantID: rollout.tenantID, kind: rollout.kind, subjectID: try label.uuid("subject_id"), subjectName: rollout.subjectName,
            name: rollout.labelName, versionID: rollout.candidateVersionID, version: rollout.candidateVersion, reason: .promote, actor: actor)
        try await tx.query(
            "UPDATE rollouts SET state = 'promoted', percent = 100, finished_at = now() WHERE tenant_id = $1 AND id = $2",
            [rollout.tenantID, rollout.id])
        let updated = try await get(tx, tenantID: rollout.tenantID, id: rollout.id)
        try await audit(tx, updated, "promote", actor: actor)
        return updated
    }

    /// Everyone back on the stable version (the label never left it), on every instance with this commit.
    static func abort(_ tx: Transaction, _ rollout: Rollout, reason: String, actor: AuditActor, details: [String: AuditValue] = [:]) async throws -> Rollout {
        guard rollout.isActive else { throw ReleaseError.conflict("the rollout is \(rollout.state.rawValue)") }
        try await tx.query(
            "UPDATE rollouts SET state = 'aborted', percent = 0, abort_reason = $3, finished_at = now() WHERE tenant_id = $1 AND id = $2",
            [rollout.tenantID, rollout.id, reason])
        let updated = try await get(tx, tenantID: rollout.tenantID, id: rollout.id)
        var all = details
        all["reason"] = .string(reason)
        try await audit(tx, updated, "abort", actor: actor, details: all)
        return updated
    }

    /// How the stable and the candidate did over the rollout's traffic (usage events naming the
    /// prompt or model and the version, since the rollout began).
    static func figures(_ tx: Transaction, _ rollout: Rollout) async throws -> (stable: VersionFigures, candidate: VersionFigures) {
        func one(_ version: Semver) async throws -> VersionFigures {
            let column = rollout.kind == .prompt ? "prompt" : "model"
            let versionColumn = rollout.kind == .prompt ? "prompt_version" : "model_version"
            let row = try await tx.query(
                """
                SELECT count(*) AS requests, count(*) FILTER (WHERE status NOT IN ('success', 'ok')) AS errors,
                       percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS p50,
                       percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS p95,
                       avg(input_tokens + output_tokens) AS tokens
                FROM usage_events
                WHERE tenant_id = $1 AND \(column) = $2 AND \(versionColumn) = $3 AND occurred_at >= $4
                """, [rollout.tenantID, rollout.subjectName, version.description, rollout.createdAt]
            ).first
            return VersionFigures(
                version: version, requests: try row?.int("requests") ?? 0, errors: try row?.int("errors") ?? 0,
                p50LatencyMs: try row?.optionalString("p50").flatMap(Double.init), p95LatencyMs: try row?.optionalString("p95").flatMap(Double.init),
                tokensPerRequest: try row?.optionalString("tokens").flatMap(Double.init))
        }
        return (try await one(rollout.stableVersion), try await one(rollout.candidateVersion))
    }

    /// The guard the candidate breaches, in words, or nil.
    static func breach(_ guards: Rollout.Guards, stable: VersionFigures, candidate: VersionFigures) -> String? {
        guard candidate.requests >= (guards.minSampleSize ?? 50) else { return nil }
        if let points = guards.maxErrorRateIncrease, candidate.errorRate > stable.errorRate + points {
            return String(format: "candidate error rate %.2f%% exceeds the stable's %.2f%% by more than %.2f points",
                          candidate.errorRate, stable.errorRate, points)
        }
        if let limit = guards.maxP95LatencyMs, let p95 = candidate.p95LatencyMs, p95 > Double(limit) {
            return String(format: "candidate p95 latency %.0f ms exceeds %d ms", p95, limit)
        }
        return nil
    }
}
