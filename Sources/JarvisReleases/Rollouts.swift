public import Foundation
public import JarvisAccess
public import JarvisStore
internal import JarvisAudit

/// Canary rollouts of one tenant's labels: started, advanced, paused, resumed, promoted and aborted
/// by single audited calls; judged against their guards by the `RolloutSupervisor`.
public struct Rollouts: Sendable {
    let app: Database
    let models: Models

    public init(app: Database, models: Models) {
        self.app = app
        self.models = models
    }

    /// What a new rollout moves where.
    public struct Start: Sendable {
        public var kind: ReleaseKind
        public var name: String
        public var label: String
        public var candidate: String
        public var steps: [Rollout.Step]?
        public var guards: Rollout.Guards?

        public init(kind: ReleaseKind, name: String, label: String, candidate: String, steps: [Rollout.Step]?, guards: Rollout.Guards?) {
            self.kind = kind
            self.name = name
            self.label = label
            self.candidate = candidate
            self.steps = steps
            self.guards = guards
        }
    }

    public func start(_ start: Start, in scope: TenantScope) async throws -> Rollout {
        let steps = start.steps ?? Rollout.defaultSteps
        try Self.validate(steps: steps, guards: start.guards ?? .init())
        // A model may be the platform's: its versions are read before the tenant's transaction.
        var modelTarget: (subjectID: UUID, version: ModelVersion)?
        if start.kind == .model {
            let model = try await models.model(start.name, tenantID: scope.tenantID)
            let version = try await models.version(of: model, start.candidate, tenantID: scope.tenantID)
            guard version.lifecycle != .retired else { throw ReleaseError.conflict("version \(version.version) is retired; it cannot be rolled out") }
            modelTarget = (model.id, version)
        }
        return try await app.withTenant(scope.tenantID) { tx in
            let subjectID: UUID
            let candidateID: UUID
            let candidate: Semver
            if let modelTarget {
                (subjectID, candidateID, candidate) = (modelTarget.subjectID, modelTarget.version.id, modelTarget.version.version)
            } else {
                let version = try await Prompts.version(tx, tenantID: scope.tenantID, prompt: start.name, version: start.candidate)
                guard version.status == .published else { throw ReleaseError.conflict("version \(version.version) is a draft; publish it first") }
                (subjectID, candidateID, candidate) = (version.promptID, version.id, version.version)
            }
            guard let label = try await LabelStore.get(tx, tenantID: scope.tenantID, kind: start.kind, subjectID: subjectID, name: start.label) else {
                throw ReleaseError.notFound("label '\(start.label.prefix(63))' of '\(start.name)'; point it at the stable version first")
            }
            guard label.versionID != candidateID else { throw ReleaseError.conflict("'\(start.label)' already points at \(candidate)") }
            let id = UUIDv7.make()
            try await tx.query(
                """
                INSERT INTO rollouts (tenant_id, id, label_id, kind, subject_name, label_name, stable_version_id, stable_version,
                                      candidate_version_id, candidate_version, steps, percent, guards, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13::jsonb, $14)
                """,
                [scope.tenantID, id, label.id, start.kind.rawValue, start.name, start.label, label.versionID, label.version.description,
                 candidateID, candidate.description, try JSONText.encode(steps), steps[0].percent, try JSONText.encode(start.guards ?? .init()),
                 scope.caller.principalID],
                onConflict: ReleaseError.conflict("a rollout is already running on '\(start.label)'"))
            let rollout = try await RolloutStore.get(tx, tenantID: scope.tenantID, id: id)
            try await RolloutStore.audit(tx, rollout, "start", actor: scope.actor, details: ["percent": .int(rollout.percent)])
            return rollout
        }
    }

    static func validate(steps: [Rollout.Step], guards: Rollout.Guards) throws(ReleaseError) {
        guard (1...10).contains(steps.count) else { throw .invalid("steps: 1 to 10 steps") }
        var last = 0
        for (index, step) in steps.enumerated() {
            guard (1...100).contains(step.percent) else { throw .invalid("steps[\(index)].percent: must be from 1 to 100") }
            guard step.percent > last else { throw .invalid("steps[\(index)].percent: each step must raise the percentage") }
            if let seconds = step.minDurationSeconds, !(0...604_800).contains(seconds) {
                throw .invalid("steps[\(index)].min_duration_seconds: must be from 0 to 604800")
            }
            last = step.percent
        }
        if let points = guards.maxErrorRateIncrease, !(0...100).contains(points) { throw .invalid("guards.max_error_rate_increase: must be from 0 to 100") }
        if let limit = guards.maxP95LatencyMs, !(1...600_000).contains(limit) { throw .invalid("guards.max_p95_latency_ms: must be from 1 to 600000") }
        if let sample = guards.minSampleSize, !(1...1_000_000).contains(sample) { throw .invalid("guards.min_sample_size: must be from 1 to 1000000") }
    }

    public func list(activeOnly: Bool, in scope: TenantScope) async throws -> [Rollout] {
        try await app.withTenant(scope.tenantID) { tx in
            try await tx.query(
                """
                SELECT \(RolloutStore.columns) FROM rollouts WHERE tenant_id = $1 AND (NOT $2 OR state IN ('running', 'paused'))
                ORDER BY id DESC LIMIT 500
                """, [scope.tenantID, activeOnly]
            ).all.map(RolloutStore.decode)
        }
    }

    public func get(_ id: UUID, in scope: TenantScope) async throws -> Rollout {
        try await app.withTenant(scope.tenantID) { tx in try await RolloutStore.get(tx, tenantID: scope.tenantID, id: id) }
    }

    public enum Action: String, Sendable, CaseIterable { case advance, pause, resume, promote, abort }

    /// One step of a rollout's life, by a person.
    public func act(_ action: Action, on id: UUID, in scope: TenantScope) async throws -> Rollout {
        try await app.withTenant(scope.tenantID) { tx in
            let rollout = try await RolloutStore.get(tx, tenantID: scope.tenantID, id: id, lock: true)
            switch action {
            case .advance: return try await RolloutStore.advance(tx, rollout, actor: scope.actor)
            case .pause: return try await RolloutStore.setPaused(tx, rollout, paused: true, actor: scope.actor)
            case .resume: return try await RolloutStore.setPaused(tx, rollout, paused: false, actor: scope.actor)
            case .promote: return try await RolloutStore.promote(tx, rollout, actor: scope.actor)
            case .abort: return try await RolloutStore.abort(tx, rollout, reason: "aborted by \(scope.actor.kind.rawValue)", actor: scope.actor)
            }
        }
    }

    /// The stable and candidate versions side by side over the rollout's traffic.
    public func analysis(_ id: UUID, in scope: TenantScope) async throws -> (rollout: Rollout, stable: VersionFigures, candidate: VersionFigures) {
        try await app.withTenant(scope.tenantID) { tx in
            let rollout = try await RolloutStore.get(tx, tenantID: scope.tenantID, id: id)
            let (stable, candidate) = try await RolloutStore.figures(tx, rollout)
            return (rollout, stable, candidate)
        }
    }
}
