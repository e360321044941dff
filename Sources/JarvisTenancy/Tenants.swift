public import struct Foundation.UUID
public import JarvisStore
public import JarvisAudit
internal import JarvisAccess

/// Tenants, read and written through the platform pool (super-admin endpoints) with every change
/// audited in the same transaction, under the affected tenant so its log tells its whole story.
public struct Tenants: Sendable {
    let platform: Database
    /// Ends the sessions of a deleted tenant's principals, in the deleting transaction.
    let sessions: (any SessionEnding)?

    public init(platform: Database, sessions: (any SessionEnding)? = nil) {
        self.platform = platform
        self.sessions = sessions
    }

    static let columns = "id, slug, name, plan, status, created_at, updated_at"

    public struct Create: Sendable {
        public var slug: String
        public var name: String
        public var plan: String
        public init(slug: String, name: String, plan: String = "free") {
            self.slug = slug
            self.name = name
            self.plan = plan
        }
    }

    public func create(_ input: Create, actor: AuditActor) async throws -> Tenant {
        try Validation.slug(input.slug)
        try Validation.name(input.name)
        try Validation.plan(input.plan)
        let id = UUIDv7.make()
        return try await platform.withTransaction { tx in
            let rows = try await tx.query(
                "INSERT INTO tenants (id, slug, name, plan) VALUES ($1, $2, $3, $4) RETURNING \(Self.columns)",
                [id, input.slug, input.name, input.plan], onConflict: TenancyError.conflict("a tenant with slug '\(input.slug)' already exists"))
            let tenant = try Self.decode(rows)
            try await AuditLog.record(
                tx, tenantID: id, actor: actor, action: "tenant.create", targetType: "tenant", targetID: id.lowercasedString,
                details: ["slug": .string(input.slug), "name": .string(input.name), "plan": .string(input.plan)])
            return tenant
        }
    }

    /// A live (not deleted) tenant by id or slug.
    public func get(_ reference: String) async throws -> Tenant? {
        let rows: Rows
        if let id = UUID(uuidString: reference) {
            rows = try await platform.query(
                "SELECT \(Self.columns) FROM tenants WHERE id = $1 AND deleted_at IS NULL", [id], idempotent: true)
        } else {
            rows = try await platform.query(
                "SELECT \(Self.columns) FROM tenants WHERE slug = $1 AND deleted_at IS NULL", [reference], idempotent: true)
        }
        return rows.isEmpty ? nil : try Self.decode(rows)
    }

    /// Live tenants in id order after `after`; reads `limit + 1`.
    public func list(after: UUID?, limit: Int, status: Tenant.Status? = nil) async throws -> [Tenant] {
        let rows = try await platform.query(
            """
            SELECT \(Self.columns) FROM tenants
            WHERE deleted_at IS NULL AND ($1::uuid IS NULL OR id > $1) AND ($2::text IS NULL OR status = $2)
            ORDER BY id LIMIT $3
            """, [after, status?.rawValue, limit + 1], idempotent: true)
        return try rows.all.map(Self.decode)
    }

    public struct Update: Sendable {
        public var name: String?
        public var plan: String?
        public var status: Tenant.Status?
        public init(name: String? = nil, plan: String? = nil, status: Tenant.Status? = nil) {
            self.name = name
            self.plan = plan
            self.status = status
        }
    }

    public func update(_ id: UUID, _ change: Update, actor: AuditActor) async throws -> Tenant {
        if let name = change.name { try Validation.name(name) }
        if let plan = change.plan { try Validation.plan(plan) }
        if id == PlatformTenant.id, change.status == .suspended { throw TenancyError.platformTenantProtected }
        return try await platform.withTransaction { tx in
            let rows = try await tx.query(
                """
                UPDATE tenants SET name = COALESCE($2, name), plan = COALESCE($3, plan),
                       status = COALESCE($4, status), updated_at = now()
                WHERE id = $1 AND deleted_at IS NULL RETURNING \(Self.columns)
                """, [id, change.name, change.plan, change.status?.rawValue])
            guard !rows.isEmpty else { throw TenancyError.notFound("tenant \(id)") }
            tx.noteChange(id)
            let tenant = try Self.decode(rows)
            var details: [String: AuditValue] = [:]
            if let name = change.name { details["name"] = .string(name) }
            if let plan = change.plan { details["plan"] = .string(plan) }
            if let status = change.status { details["status"] = .string(status.rawValue) }
            try await AuditLog.record(
                tx, tenantID: id, actor: actor, action: "tenant.update", targetType: "tenant", targetID: id.lowercasedString,
                details: details)
            return tenant
        }
    }

    /// Soft-deletes: the row stays for audit, the tenant disappears from every lookup, its
    /// credentials stop working at once (authentication checks `deleted_at`) and its sessions end.
    public func delete(_ id: UUID, actor: AuditActor) async throws {
        if id == PlatformTenant.id { throw TenancyError.platformTenantProtected }
        try await platform.withTransaction { tx in
            let rows = try await tx.query(
                "UPDATE tenants SET deleted_at = now(), updated_at = now() WHERE id = $1 AND deleted_at IS NULL RETURNING slug",
                [id])
            guard let slug = try rows.first?.string("slug") else { throw TenancyError.notFound("tenant \(id)") }
            try await sessions?.endSessions(tx, tenantID: id)
            tx.noteChange(id)
            try await AuditLog.record(
                tx, tenantID: id, actor: actor, action: "tenant.delete", targetType: "tenant", targetID: id.lowercasedString,
                details: ["slug": .string(slug)])
        }
    }

    /// The ids among `ids` of tenants that exist and are not deleted.
    public func live(_ ids: Set<UUID>) async throws -> Set<UUID> {
        let rows = try await platform.query(
            "SELECT id FROM tenants WHERE id = ANY($1::uuid[]) AND deleted_at IS NULL", [TextArray(ids.map(\.lowercasedString))], idempotent: true)
        return Set(try rows.all.map { try $0.uuid("id") })
    }

    static func decode(_ rows: Rows) throws -> Tenant {
        guard let row = rows.first else { throw StoreError.decoding("no tenant row") }
        return try decode(row)
    }

    static func decode(_ row: Row) throws -> Tenant {
        Tenant(
            id: try row.uuid("id"), slug: try row.string("slug"), name: try row.string("name"), plan: try row.string("plan"),
            status: Tenant.Status(rawValue: try row.string("status")) ?? .suspended,
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
    }
}
