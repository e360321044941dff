public import struct Foundation.UUID
public import JarvisStore
public import JarvisAudit
public import JarvisAccess

/// Users and service accounts, inside a tenant transaction (row-level security applies),
/// each change audited in that transaction.
public enum PrincipalStore {
    static let columns = "id, tenant_id, kind, email, name, description, cost_center, status, created_at, updated_at"

    public struct Create: Sendable {
        public var kind: Caller.Kind
        public var email: String?
        public var name: String
        public var description: String
        public var costCenter: String?
        public init(kind: Caller.Kind, email: String?, name: String, description: String = "", costCenter: String? = nil) {
            self.kind = kind
            self.email = email
            self.name = name
            self.description = description
            self.costCenter = costCenter
        }
    }

    public static func create(_ tx: Transaction, tenantID: UUID, _ input: Create, actor: AuditActor) async throws -> Principal {
        switch input.kind {
        case .user:
            guard let email = input.email else { throw TenancyError.invalid(field: "email", reason: "is required") }
            try Validation.email(email)
            try Validation.name(input.name, field: "display_name")
        case .serviceAccount:
            try Validation.name(input.name)
        }
        try Validation.text(input.description, field: "description", max: 1000, allowEmpty: true)
        if let costCenter = input.costCenter { try CostCenter.validate(costCenter) }
        let id = UUIDv7.make()
        let conflict = input.kind == .user
            ? "a user with email '\(input.email ?? "")' already exists in this tenant"
            : "a service account named '\(input.name)' already exists in this tenant"
        let rows = try await tx.query(
            """
            INSERT INTO principals (tenant_id, id, kind, email, name, description, cost_center)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING \(columns)
            """, [tenantID, id, input.kind.rawValue, input.kind == .user ? input.email : nil, input.name, input.description, input.costCenter],
            onConflict: TenancyError.conflict(conflict))
        let principal = try decode(rows)
        // A cost center's hard-stop budget must see the new principal's use as that cost center's at once.
        if input.costCenter != nil { tx.noteChange(tenantID) }
        var details: [String: AuditValue] = ["name": .string(input.name)]
        if let email = principal.email { details["email"] = .string(email) }
        if let costCenter = input.costCenter { details["cost_center"] = .string(costCenter) }
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "\(input.kind.auditResource).create",
            targetType: input.kind.auditResource, targetID: id.lowercasedString, details: details)
        return principal
    }

    public static func get(_ tx: Transaction, tenantID: UUID, id: UUID, kind: Caller.Kind?) async throws -> Principal? {
        let rows = try await tx.query(
            "SELECT \(columns) FROM principals WHERE tenant_id = $1 AND id = $2 AND ($3::text IS NULL OR kind = $3)",
            [tenantID, id, kind?.rawValue])
        return rows.isEmpty ? nil : try decode(rows)
    }

    /// Whether the tenant has the principal (for other modules' checks inside their transactions).
    package static func exists(_ tx: Transaction, tenantID: UUID, id: UUID) async throws -> Bool {
        try await !tx.query("SELECT 1 FROM principals WHERE tenant_id = $1 AND id = $2", [tenantID, id]).isEmpty
    }

    /// Principals of one kind in id order after `after`; reads `limit + 1`.
    public static func list(
        _ tx: Transaction, tenantID: UUID, kind: Caller.Kind, after: UUID?, limit: Int, status: Principal.Status? = nil
    ) async throws -> [Principal] {
        let rows = try await tx.query(
            """
            SELECT \(columns) FROM principals
            WHERE tenant_id = $1 AND kind = $2 AND ($3::uuid IS NULL OR id > $3) AND ($4::text IS NULL OR status = $4)
            ORDER BY id LIMIT $5
            """, [tenantID, kind.rawValue, after, status?.rawValue, limit + 1])
        return try rows.all.map(decode)
    }

    public struct Update: Sendable {
        public var email: String?
        public var name: String?
        public var description: String?
        public var status: Principal.Status?
        /// "" clears it.
        public var costCenter: String?
        public init(
            email: String? = nil, name: String? = nil, description: String? = nil, status: Principal.Status? = nil, costCenter: String? = nil
        ) {
            self.email = email
            self.name = name
            self.description = description
            self.status = status
            self.costCenter = costCenter
        }
    }

    /// Changes the given fields; disabling a principal stops its credentials at once. Any change
    /// (status, the email a user logs in with) needs a caller at least as strong as the principal.
    public static func update(
        _ tx: Transaction, tenantID: UUID, id: UUID, kind: Caller.Kind, _ change: Update, caller: Caller, actor: AuditActor
    ) async throws -> Principal {
        if let email = change.email {
            guard kind == .user else { throw TenancyError.invalid(field: "email", reason: "only users have an email") }
            try Validation.email(email)
        }
        if let name = change.name { try Validation.name(name, field: kind == .user ? "display_name" : "name") }
        if let description = change.description {
            try Validation.text(description, field: "description", max: 1000, allowEmpty: true)
        }
        if let costCenter = change.costCenter, !costCenter.isEmpty { try CostCenter.validate(costCenter) }
        let conflict = kind == .user ? "that email is already in use in this tenant" : "that name is already in use in this tenant"
        let rows = try await tx.query(
            """
            UPDATE principals SET email = COALESCE($4, email), name = COALESCE($5, name),
                   description = COALESCE($6, description), status = COALESCE($7, status),
                   cost_center = CASE WHEN $8::text IS NULL THEN cost_center ELSE NULLIF($8, '') END, updated_at = now()
            WHERE tenant_id = $1 AND id = $2 AND kind = $3 RETURNING \(columns)
            """, [tenantID, id, kind.rawValue, change.email, change.name, change.description, change.status?.rawValue, change.costCenter],
            onConflict: TenancyError.conflict(conflict))
        guard !rows.isEmpty else { throw TenancyError.notFound("\(kind.auditResource) \(id)") }
        try await PrincipalGuard.requireCovered(tx, tenantID: tenantID, principalID: id, by: caller)
        tx.noteChange(tenantID)
        let principal = try decode(rows)
        var details: [String: AuditValue] = [:]
        if let email = change.email { details["email"] = .string(email) }
        if let name = change.name { details["name"] = .string(name) }
        if change.description != nil { details["description_changed"] = .bool(true) }
        if let status = change.status { details["status"] = .string(status.rawValue) }
        if let costCenter = change.costCenter { details["cost_center"] = costCenter.isEmpty ? .null : .string(costCenter) }
        let verb = change.status == .disabled ? "disable" : (change.status == .active && details.count == 1 ? "enable" : "update")
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "\(kind.auditResource).\(verb)",
            targetType: kind.auditResource, targetID: id.lowercasedString, details: details)
        return principal
    }

    static func decode(_ rows: Rows) throws -> Principal {
        guard let row = rows.first else { throw StoreError.decoding("no principal row") }
        return try decode(row)
    }

    static func decode(_ row: Row) throws -> Principal {
        Principal(
            id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"),
            kind: Caller.Kind(rawValue: try row.string("kind")) ?? .user,
            email: try row.optionalString("email"), name: try row.string("name"),
            description: try row.string("description"), costCenter: try row.optionalString("cost_center"),
            status: Principal.Status(rawValue: try row.string("status")) ?? .disabled,
            createdAt: try row.date("created_at"), updatedAt: try row.date("updated_at"))
    }
}

extension Caller.Kind {
    /// `user` or `service_account`, as audit actions and target types name them.
    public var auditResource: String { rawValue }
}
