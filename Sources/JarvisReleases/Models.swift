internal import Foundation
public import JarvisAccess
public import JarvisStore
internal import JarvisAudit

/// Models of one tenant, and the platform's (models in the platform tenant, usable by every
/// tenant): versions with the provider's model id and parameters, a lifecycle (a retired version
/// cannot be labelled or resolved), and labels, which each tenant keeps for itself.
public struct Models: Sendable {
    let app: Database
    /// Reads the platform's models for every tenant.
    let platform: Database

    public init(app: Database, platform: Database) {
        self.app = app
        self.platform = platform
    }

    static let modelColumns = "id, tenant_id, name, provider, description, created_at"
    static let versionColumns = "id, model_id, version, provider_model_id, parameters::text AS parameters, lifecycle, created_at"

    public func create(name: String, provider: String, description: String, in scope: TenantScope) async throws -> Model {
        try Prompts.validateName(name)
        guard (1...100).contains(provider.unicodeScalars.count) else { throw ReleaseError.invalid("provider: 1-100 characters") }
        guard description.unicodeScalars.count <= 1000 else { throw ReleaseError.invalid("description: at most 1000 characters") }
        return try await app.withTenant(scope.tenantID) { tx in
            let rows = try await tx.query(
                "INSERT INTO models (tenant_id, id, name, provider, description, created_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING \(Self.modelColumns)",
                [scope.tenantID, UUIDv7.make(), name, provider, description, scope.caller.principalID],
                onConflict: ReleaseError.conflict("a model named '\(name)' exists"))
            let model = try Self.decodeModel(rows.first!)
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "model.create", targetType: "model", targetID: model.id.lowercasedString,
                details: ["name": .string(name), "provider": .string(provider)])
            return model
        }
    }

    /// The tenant's models, then the platform's that it has no model of the same name for.
    public func list(in scope: TenantScope) async throws -> [Model] {
        let own = try await app.withTenant(scope.tenantID) { tx in
            try await tx.query("SELECT \(Self.modelColumns) FROM models WHERE tenant_id = $1 ORDER BY name", [scope.tenantID]).all.map(Self.decodeModel)
        }
        guard scope.tenantID != PlatformTenant.id else { return own }
        let shared = try await platform.query(
            "SELECT \(Self.modelColumns) FROM models WHERE tenant_id = $1 ORDER BY name", [PlatformTenant.id], idempotent: true
        ).all.map(Self.decodeModel)
        return own + shared.filter { model in !own.contains { $0.name == model.name } }
    }

    public func get(_ name: String, in scope: TenantScope) async throws -> Model {
        try await model(name, tenantID: scope.tenantID)
    }

    /// The tenant's model of that name, else the platform's.
    func model(_ name: String, tenantID: UUID) async throws -> Model {
        let own = try await app.withTenant(tenantID) { tx in
            try await tx.query("SELECT \(Self.modelColumns) FROM models WHERE tenant_id = $1 AND name = $2", [tenantID, name]).first
        }
        if let own { return try Self.decodeModel(own) }
        if tenantID != PlatformTenant.id, let shared = try await platform.query(
            "SELECT \(Self.modelColumns) FROM models WHERE tenant_id = $1 AND name = $2", [PlatformTenant.id, name], idempotent: true).first
        {
            return try Self.decodeModel(shared)
        }
        throw ReleaseError.notFound("model '\(name.prefix(100))'")
    }

    /// The database that holds a model's rows: the tenant's pool under its RLS, or the platform's.
    private func rows(of model: Model, tenantID: UUID, _ sql: String, _ parameters: [any SQLBindable]) async throws -> Rows {
        if model.tenantID == tenantID { return try await app.withTenant(tenantID) { tx in try await tx.query(sql, parameters) } }
        return try await platform.query(sql, parameters, idempotent: true)
    }

    public func createVersion(
        _ name: String, version text: String, providerModelID: String, parameters: ReleaseParameters, in scope: TenantScope
    ) async throws -> ModelVersion {
        guard let version = Semver(text) else { throw ReleaseError.invalid("version: must be a semantic version such as 1.4.0") }
        guard (1...200).contains(providerModelID.unicodeScalars.count) else { throw ReleaseError.invalid("provider_model_id: 1-200 characters") }
        try ParameterRules.check(parameters)
        return try await app.withTenant(scope.tenantID) { tx in
            let owner = try await Self.ownModel(tx, tenantID: scope.tenantID, name: name)
            let rows = try await tx.query(
                """
                INSERT INTO model_versions (tenant_id, id, model_id, version, major, minor, patch, provider_model_id, parameters, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10) RETURNING \(Self.versionColumns)
                """,
                [scope.tenantID, UUIDv7.make(), owner.id, version.description, version.major, version.minor, version.patch, providerModelID,
                 try JSONText.encode(parameters), scope.caller.principalID],
                onConflict: ReleaseError.conflict("version \(version) of '\(name)' exists"))
            let created = try Self.decodeVersion(rows.first!)
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "model_version.create", targetType: "model_version",
                targetID: created.id.lowercasedString,
                details: ["model": .string(name), "version": .string(version.description), "provider_model_id": .string(providerModelID)])
            return created
        }
    }

    /// Moves a version through its lifecycle. A version a label points at cannot be retired.
    public func setLifecycle(_ name: String, version text: String, to lifecycle: ModelVersion.Lifecycle, in scope: TenantScope) async throws -> ModelVersion {
        try await app.withTenant(scope.tenantID) { tx in
            let owner = try await Self.ownModel(tx, tenantID: scope.tenantID, name: name)
            let current = try await Self.version(of: owner, text, tx: tx)
            if lifecycle == .retired,
                try await !tx.query("SELECT 1 FROM release_labels WHERE tenant_id = $1 AND version_id = $2", [scope.tenantID, current.id]).isEmpty
            {
                throw ReleaseError.conflict("version \(current.version) is labelled; move the labels before retiring it")
            }
            // A retired version is refused by every resolver; the platform's tenant id drops every tenant.
            tx.noteChange(scope.tenantID)
            let rows = try await tx.query(
                "UPDATE model_versions SET lifecycle = $3 WHERE tenant_id = $1 AND id = $2 RETURNING \(Self.versionColumns)",
                [scope.tenantID, current.id, lifecycle.rawValue])
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "model_version.lifecycle", targetType: "model_version",
                targetID: current.id.lowercasedString,
                details: ["model": .string(name), "version": .string(current.version.description), "lifecycle": .string(lifecycle.rawValue),
                          "previous": .string(current.lifecycle.rawValue)])
            return try Self.decodeVersion(rows.first!)
        }
    }

    public func versions(_ name: String, in scope: TenantScope) async throws -> [ModelVersion] {
        let owner = try await model(name, tenantID: scope.tenantID)
        return try await rows(
            of: owner, tenantID: scope.tenantID,
            "SELECT \(Self.versionColumns) FROM model_versions WHERE tenant_id = $1 AND model_id = $2 ORDER BY major DESC, minor DESC, patch DESC",
            [owner.tenantID, owner.id]
        ).all.map(Self.decodeVersion)
    }

    public func version(_ name: String, _ version: String, in scope: TenantScope) async throws -> ModelVersion {
        let owner = try await model(name, tenantID: scope.tenantID)
        return try await self.version(of: owner, version, tenantID: scope.tenantID)
    }

    func version(of owner: Model, _ text: String, tenantID: UUID) async throws -> ModelVersion {
        guard let version = Semver(text) else { throw ReleaseError.invalid("version: must be a semantic version such as 1.4.0") }
        guard let row = try await rows(
            of: owner, tenantID: tenantID,
            "SELECT \(Self.versionColumns) FROM model_versions WHERE tenant_id = $1 AND model_id = $2 AND version = $3",
            [owner.tenantID, owner.id, version.description]
        ).first else { throw ReleaseError.notFound("version \(version) of '\(owner.name)'") }
        return try Self.decodeVersion(row)
    }

    // MARK: Labels

    public func labels(_ name: String, in scope: TenantScope) async throws -> [ReleaseLabel] {
        let owner = try await model(name, tenantID: scope.tenantID)
        return try await app.withTenant(scope.tenantID) { tx in
            try await LabelStore.list(tx, tenantID: scope.tenantID, kind: .model, subjectID: owner.id)
        }
    }

    /// Points the tenant's label at a version that is not retired.
    public func setLabel(_ name: String, label: String, to version: String, in scope: TenantScope) async throws -> ReleaseLabel {
        let owner = try await model(name, tenantID: scope.tenantID)
        let target = try await self.version(of: owner, version, tenantID: scope.tenantID)
        guard target.lifecycle != .retired else { throw ReleaseError.conflict("version \(target.version) is retired and cannot be labelled") }
        return try await app.withTenant(scope.tenantID) { tx in
            if let existing = try await LabelStore.get(tx, tenantID: scope.tenantID, kind: .model, subjectID: owner.id, name: label),
                try await LabelStore.hasActiveRollout(tx, tenantID: scope.tenantID, labelID: existing.id)
            {
                throw ReleaseError.conflict("a rollout is running on '\(label)'; promote or abort it first")
            }
            return try await LabelStore.move(
                tx, tenantID: scope.tenantID, kind: .model, subjectID: owner.id, subjectName: name, name: label, versionID: target.id,
                version: target.version, reason: .move, actor: scope.actor)
        }
    }

    /// Moves a label back to where it pointed before its last move, unless that version is retired now.
    public func rollbackLabel(_ name: String, label: String, in scope: TenantScope) async throws -> ReleaseLabel {
        let owner = try await model(name, tenantID: scope.tenantID)
        return try await app.withTenant(scope.tenantID) { tx in
            let previous = try await LabelStore.rollbackTarget(
                tx, tenantID: scope.tenantID, kind: .model, subjectID: owner.id, subjectName: name, label: label)
            let target = try await self.version(of: owner, previous.version.description, tenantID: scope.tenantID)
            guard target.lifecycle != .retired else { throw ReleaseError.conflict("version \(target.version) is retired; move the label instead") }
            return try await LabelStore.move(
                tx, tenantID: scope.tenantID, kind: .model, subjectID: owner.id, subjectName: name, name: label, versionID: target.id,
                version: target.version, reason: .rollback, actor: scope.actor)
        }
    }

    public func labelHistory(_ name: String, label: String, in scope: TenantScope) async throws -> [LabelMove] {
        let owner = try await model(name, tenantID: scope.tenantID)
        return try await app.withTenant(scope.tenantID) { tx in
            guard let existing = try await LabelStore.get(tx, tenantID: scope.tenantID, kind: .model, subjectID: owner.id, name: label) else {
                throw ReleaseError.notFound("label '\(label)' of '\(name)'")
            }
            return try await LabelStore.history(tx, tenantID: scope.tenantID, labelID: existing.id)
        }
    }

    // MARK: Rows

    static func ownModel(_ tx: Transaction, tenantID: UUID, name: String) async throws -> Model {
        guard let row = try await tx.query("SELECT \(modelColumns) FROM models WHERE tenant_id = $1 AND name = $2", [tenantID, name]).first else {
            throw ReleaseError.notFound("model '\(name.prefix(100))' of this tenant (platform models change in the platform tenant)")
        }
        return try decodeModel(row)
    }

    static func version(of owner: Model, _ text: String, tx: Transaction) async throws -> ModelVersion {
        guard let version = Semver(text) else { throw ReleaseError.invalid("version: must be a semantic version such as 1.4.0") }
        guard let row = try await tx.query(
            "SELECT \(versionColumns) FROM model_versions WHERE tenant_id = $1 AND model_id = $2 AND version = $3",
            [owner.tenantID, owner.id, version.description]
        ).first else { throw ReleaseError.notFound("version \(version) of '\(owner.name)'") }
        return try decodeVersion(row)
    }

    static func decodeModel(_ row: Row) throws -> Model {
        Model(
            id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"), name: try row.string("name"), provider: try row.string("provider"),
            description: try row.string("description"), createdAt: try row.date("created_at"))
    }

    static func decodeVersion(_ row: Row) throws -> ModelVersion {
        ModelVersion(
            id: try row.uuid("id"), modelID: try row.uuid("model_id"), version: Semver(try row.string("version")) ?? Semver("0.0.0")!,
            providerModelID: try row.string("provider_model_id"),
            parameters: try JSONText.decode(ReleaseParameters.self, try row.string("parameters")),
            lifecycle: ModelVersion.Lifecycle(rawValue: try row.string("lifecycle")) ?? .active, createdAt: try row.date("created_at"))
    }
}
