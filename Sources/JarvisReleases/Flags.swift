internal import Foundation
public import JarvisAccess
public import JarvisStore
internal import JarvisAudit

/// Feature flags of one tenant, each change in its own transaction, audited, and seen by this
/// instance's resolver at commit and by every other instance's through NOTIFY.
public struct Flags: Sendable {
    let app: Database

    public init(app: Database) { self.app = app }

    static let columns = "id, key, description, kind, variants::text AS variants, default_value, rules::text AS rules, enabled, updated_at"

    public struct Definition: Sendable {
        public var description: String
        public var kind: FeatureFlag.Kind
        public var variants: [String]
        public var defaultValue: String
        public var rules: [FeatureFlag.Rule]
        public var enabled: Bool

        public init(description: String, kind: FeatureFlag.Kind, variants: [String], defaultValue: String, rules: [FeatureFlag.Rule], enabled: Bool) {
            self.description = description
            self.kind = kind
            self.variants = variants
            self.defaultValue = defaultValue
            self.rules = rules
            self.enabled = enabled
        }
    }

    public func create(_ key: String, _ definition: Definition, in scope: TenantScope) async throws -> FeatureFlag {
        try Self.validate(key, definition)
        return try await app.withTenant(scope.tenantID) { tx in
            let rows = try await tx.query(
                """
                INSERT INTO feature_flags (tenant_id, id, key, description, kind, variants, default_value, rules, enabled, created_by)
                VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8::jsonb, $9, $10) RETURNING \(Self.columns)
                """,
                [scope.tenantID, UUIDv7.make(), key, definition.description, definition.kind.rawValue, try JSONText.encode(definition.variants),
                 definition.defaultValue, try JSONText.encode(definition.rules), definition.enabled, scope.caller.principalID],
                onConflict: ReleaseError.conflict("a flag '\(key)' exists"))
            tx.noteChange(scope.tenantID)
            let flag = try Self.decode(rows.first!)
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "flag.create", targetType: "flag", targetID: key,
                details: ["kind": .string(definition.kind.rawValue), "enabled": .bool(definition.enabled), "rules": .int(definition.rules.count)])
            return flag
        }
    }

    public func list(in scope: TenantScope) async throws -> [FeatureFlag] {
        try await app.withTenant(scope.tenantID) { tx in
            try await tx.query("SELECT \(Self.columns) FROM feature_flags WHERE tenant_id = $1 ORDER BY key", [scope.tenantID]).all.map(Self.decode)
        }
    }

    public func get(_ key: String, in scope: TenantScope) async throws -> FeatureFlag {
        try await app.withTenant(scope.tenantID) { tx in try await Self.flag(tx, tenantID: scope.tenantID, key: key) }
    }

    /// Changes the given parts; `enabled: false` is the kill switch (everyone gets the default).
    public func update(
        _ key: String, description: String?, variants: [String]?, defaultValue: String?, rules: [FeatureFlag.Rule]?, enabled: Bool?,
        in scope: TenantScope
    ) async throws -> FeatureFlag {
        try await app.withTenant(scope.tenantID) { tx in
            let current = try await Self.flag(tx, tenantID: scope.tenantID, key: key)
            let definition = Definition(
                description: description ?? current.description, kind: current.kind, variants: variants ?? current.variants,
                defaultValue: defaultValue ?? current.defaultValue, rules: rules ?? current.rules, enabled: enabled ?? current.enabled)
            try Self.validate(key, definition)
            let rows = try await tx.query(
                """
                UPDATE feature_flags SET description = $3, variants = $4::jsonb, default_value = $5, rules = $6::jsonb, enabled = $7,
                       updated_at = now()
                WHERE tenant_id = $1 AND id = $2 RETURNING \(Self.columns)
                """,
                [scope.tenantID, current.id, definition.description, try JSONText.encode(definition.variants), definition.defaultValue,
                 try JSONText.encode(definition.rules), definition.enabled])
            tx.noteChange(scope.tenantID)
            var details: [String: AuditValue] = ["enabled": .bool(definition.enabled), "rules": .int(definition.rules.count)]
            if enabled == false && current.enabled { details["kill_switch"] = .bool(true) }
            try await AuditLog.record(tx, tenantID: scope.tenantID, actor: scope.actor, action: "flag.update", targetType: "flag", targetID: key, details: details)
            return try Self.decode(rows.first!)
        }
    }

    public func delete(_ key: String, in scope: TenantScope) async throws {
        try await app.withTenant(scope.tenantID) { tx in
            let current = try await Self.flag(tx, tenantID: scope.tenantID, key: key)
            tx.noteChange(scope.tenantID)
            try await tx.query("DELETE FROM feature_flags WHERE tenant_id = $1 AND id = $2", [scope.tenantID, current.id])
            try await AuditLog.record(tx, tenantID: scope.tenantID, actor: scope.actor, action: "flag.delete", targetType: "flag", targetID: key)
        }
    }

    static func validate(_ key: String, _ definition: Definition) throws(ReleaseError) {
        guard definition.description.unicodeScalars.count <= 1000 else { throw .invalid("description: at most 1000 characters") }
        try FeatureFlag.validate(
            key: key, kind: definition.kind, variants: definition.variants, defaultValue: definition.defaultValue, rules: definition.rules)
    }

    static func flag(_ tx: Transaction, tenantID: UUID, key: String) async throws -> FeatureFlag {
        guard let row = try await tx.query("SELECT \(columns) FROM feature_flags WHERE tenant_id = $1 AND key = $2", [tenantID, key]).first else {
            throw ReleaseError.notFound("flag '\(key.prefix(100))'")
        }
        return try decode(row)
    }

    static func decode(_ row: Row) throws -> FeatureFlag {
        FeatureFlag(
            id: try row.uuid("id"), key: try row.string("key"), description: try row.string("description"),
            kind: FeatureFlag.Kind(rawValue: try row.string("kind")) ?? .boolean, variants: try JSONText.decode([String].self, try row.string("variants")),
            defaultValue: try row.string("default_value"), rules: try JSONText.decode([FeatureFlag.Rule].self, try row.string("rules")),
            enabled: try row.bool("enabled"), updatedAt: try row.date("updated_at"))
    }
}
