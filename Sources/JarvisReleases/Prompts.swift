internal import Foundation
public import JarvisAccess
public import JarvisStore
internal import JarvisAudit

/// Prompts of one tenant: their versions (drafts editable until published, then immutable — the
/// database refuses a change too), rendering, diffs, and labels; each call in its own transaction
/// under the tenant's row-level security, audited there.
public struct Prompts: Sendable {
    let app: Database

    public init(app: Database) { self.app = app }

    static let promptColumns = "id, tenant_id, name, description, created_at"
    static let versionColumns = "id, prompt_id, version, template, variables::text AS variables, parameters::text AS parameters, changelog, status, created_at, published_at"

    public func create(name: String, description: String, in scope: TenantScope) async throws -> Prompt {
        try Self.validateName(name)
        guard description.unicodeScalars.count <= 1000 else { throw ReleaseError.invalid("description: at most 1000 characters") }
        return try await app.withTenant(scope.tenantID) { tx in
            let rows = try await tx.query(
                "INSERT INTO prompts (tenant_id, id, name, description, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING \(Self.promptColumns)",
                [scope.tenantID, UUIDv7.make(), name, description, scope.caller.principalID],
                onConflict: ReleaseError.conflict("a prompt named '\(name)' exists"))
            let prompt = try Self.decodePrompt(rows.first!)
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "prompt.create", targetType: "prompt", targetID: prompt.id.lowercasedString,
                details: ["name": .string(name)])
            return prompt
        }
    }

    public func list(in scope: TenantScope) async throws -> [Prompt] {
        try await app.withTenant(scope.tenantID) { tx in
            try await tx.query("SELECT \(Self.promptColumns) FROM prompts WHERE tenant_id = $1 ORDER BY name", [scope.tenantID]).all.map(Self.decodePrompt)
        }
    }

    public func get(_ name: String, in scope: TenantScope) async throws -> Prompt {
        try await app.withTenant(scope.tenantID) { tx in try await Self.prompt(tx, tenantID: scope.tenantID, name: name) }
    }

    /// What a new version (a draft) or a change to a draft holds.
    public struct Draft: Sendable {
        public var template: String?
        public var variables: [PromptVariable]?
        public var parameters: ReleaseParameters?
        public var changelog: String?

        public init(template: String?, variables: [PromptVariable]?, parameters: ReleaseParameters?, changelog: String?) {
            self.template = template
            self.variables = variables
            self.parameters = parameters
            self.changelog = changelog
        }
    }

    public func createVersion(_ prompt: String, version text: String, _ draft: Draft, in scope: TenantScope) async throws -> PromptVersion {
        guard let version = Semver(text) else { throw ReleaseError.invalid("version: must be a semantic version such as 1.4.0") }
        let template = draft.template ?? ""
        let variables = draft.variables ?? []
        try Self.check(template: template, variables: variables, parameters: draft.parameters ?? [:], changelog: draft.changelog ?? "")
        return try await app.withTenant(scope.tenantID) { tx in
            let owner = try await Self.prompt(tx, tenantID: scope.tenantID, name: prompt)
            let rows = try await tx.query(
                """
                INSERT INTO prompt_versions (tenant_id, id, prompt_id, version, major, minor, patch, template, variables, parameters, changelog, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12) RETURNING \(Self.versionColumns)
                """,
                [scope.tenantID, UUIDv7.make(), owner.id, version.description, version.major, version.minor, version.patch, template,
                 try JSONText.encode(variables), try JSONText.encode(draft.parameters ?? [:]), draft.changelog ?? "", scope.caller.principalID],
                onConflict: ReleaseError.conflict("version \(version) of '\(prompt)' exists"))
            let created = try Self.decodeVersion(rows.first!)
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "prompt_version.create", targetType: "prompt_version",
                targetID: created.id.lowercasedString, details: ["prompt": .string(prompt), "version": .string(version.description)])
            return created
        }
    }

    /// Changes a draft; a published version is refused (here, and by the database).
    public func updateDraft(_ prompt: String, version text: String, _ change: Draft, in scope: TenantScope) async throws -> PromptVersion {
        try await app.withTenant(scope.tenantID) { tx in
            let current = try await Self.version(tx, tenantID: scope.tenantID, prompt: prompt, version: text)
            guard current.status == .draft else { throw ReleaseError.conflict("version \(current.version) is published and cannot change") }
            let template = change.template ?? current.template
            let variables = change.variables ?? current.variables
            let parameters = change.parameters ?? current.parameters
            let changelog = change.changelog ?? current.changelog
            try Self.check(template: template, variables: variables, parameters: parameters, changelog: changelog)
            let rows = try await tx.query(
                """
                UPDATE prompt_versions SET template = $3, variables = $4::jsonb, parameters = $5::jsonb, changelog = $6
                WHERE tenant_id = $1 AND id = $2 RETURNING \(Self.versionColumns)
                """,
                [scope.tenantID, current.id, template, try JSONText.encode(variables), try JSONText.encode(parameters), changelog])
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "prompt_version.update", targetType: "prompt_version",
                targetID: current.id.lowercasedString, details: ["prompt": .string(prompt), "version": .string(current.version.description)])
            return try Self.decodeVersion(rows.first!)
        }
    }

    /// Publishes a draft: from now on it cannot change, and labels may point at it.
    public func publish(_ prompt: String, version text: String, in scope: TenantScope) async throws -> PromptVersion {
        try await app.withTenant(scope.tenantID) { tx in
            let current = try await Self.version(tx, tenantID: scope.tenantID, prompt: prompt, version: text)
            guard current.status == .draft else { throw ReleaseError.conflict("version \(current.version) is already published") }
            let rows = try await tx.query(
                "UPDATE prompt_versions SET status = 'published', published_at = now() WHERE tenant_id = $1 AND id = $2 RETURNING \(Self.versionColumns)",
                [scope.tenantID, current.id])
            try await AuditLog.record(
                tx, tenantID: scope.tenantID, actor: scope.actor, action: "prompt_version.publish", targetType: "prompt_version",
                targetID: current.id.lowercasedString, details: ["prompt": .string(prompt), "version": .string(current.version.description)])
            return try Self.decodeVersion(rows.first!)
        }
    }

    public func versions(_ prompt: String, in scope: TenantScope) async throws -> [PromptVersion] {
        try await app.withTenant(scope.tenantID) { tx in
            let owner = try await Self.prompt(tx, tenantID: scope.tenantID, name: prompt)
            return try await tx.query(
                "SELECT \(Self.versionColumns) FROM prompt_versions WHERE tenant_id = $1 AND prompt_id = $2 ORDER BY major DESC, minor DESC, patch DESC",
                [scope.tenantID, owner.id]
            ).all.map(Self.decodeVersion)
        }
    }

    public func version(_ prompt: String, _ version: String, in scope: TenantScope) async throws -> PromptVersion {
        try await app.withTenant(scope.tenantID) { tx in try await Self.version(tx, tenantID: scope.tenantID, prompt: prompt, version: version) }
    }

    public func render(_ prompt: String, _ version: String, values: [String: String], in scope: TenantScope) async throws -> String {
        let found = try await self.version(prompt, version, in: scope)
        return try PromptTemplate(found.template).render(values, declared: found.variables)
    }

    /// Two versions compared: the template line by line, and the variables and parameters changed.
    public struct Diff: Sendable {
        public let from: Semver
        public let to: Semver
        public let template: [LineDiff.Line]
        public let variables: [Change]
        public let parameters: [Change]

        public struct Change: Sendable {
            public let name: String
            /// `added`, `removed` or `changed`.
            public let change: String
        }
    }

    public func diff(_ prompt: String, from: String, to: String, in scope: TenantScope) async throws -> Diff {
        let (a, b) = try await app.withTenant(scope.tenantID) { tx in
            (try await Self.version(tx, tenantID: scope.tenantID, prompt: prompt, version: from),
             try await Self.version(tx, tenantID: scope.tenantID, prompt: prompt, version: to))
        }
        func changes<V: Equatable>(_ old: [String: V], _ new: [String: V]) -> [Diff.Change] {
            Set(old.keys).union(new.keys).sorted().compactMap { name in
                switch (old[name], new[name]) {
                case (nil, _?): return .init(name: name, change: "added")
                case (_?, nil): return .init(name: name, change: "removed")
                case (let x?, let y?) where x != y: return .init(name: name, change: "changed")
                default: return nil
                }
            }
        }
        return Diff(
            from: a.version, to: b.version, template: LineDiff.lines(from: a.template, to: b.template),
            variables: changes(Dictionary(a.variables.map { ($0.name, $0) }, uniquingKeysWith: { x, _ in x }),
                               Dictionary(b.variables.map { ($0.name, $0) }, uniquingKeysWith: { x, _ in x })),
            parameters: changes(a.parameters, b.parameters))
    }

    // MARK: Labels

    public func labels(_ prompt: String, in scope: TenantScope) async throws -> [ReleaseLabel] {
        try await app.withTenant(scope.tenantID) { tx in
            let owner = try await Self.prompt(tx, tenantID: scope.tenantID, name: prompt)
            return try await LabelStore.list(tx, tenantID: scope.tenantID, kind: .prompt, subjectID: owner.id)
        }
    }

    /// Points a label at a published version (creating the label). Refused while a rollout runs on it.
    public func setLabel(_ prompt: String, label: String, to version: String, in scope: TenantScope) async throws -> ReleaseLabel {
        try await app.withTenant(scope.tenantID) { tx in
            let owner = try await Self.prompt(tx, tenantID: scope.tenantID, name: prompt)
            let target = try await Self.version(tx, tenantID: scope.tenantID, prompt: prompt, version: version)
            guard target.status == .published else { throw ReleaseError.conflict("version \(target.version) is a draft; publish it first") }
            if let existing = try await LabelStore.get(tx, tenantID: scope.tenantID, kind: .prompt, subjectID: owner.id, name: label),
                try await LabelStore.hasActiveRollout(tx, tenantID: scope.tenantID, labelID: existing.id)
            {
                throw ReleaseError.conflict("a rollout is running on '\(label)'; promote or abort it first")
            }
            return try await LabelStore.move(
                tx, tenantID: scope.tenantID, kind: .prompt, subjectID: owner.id, subjectName: prompt, name: label, versionID: target.id,
                version: target.version, reason: .move, actor: scope.actor)
        }
    }

    /// Moves a label back to where it pointed before its last move.
    public func rollbackLabel(_ prompt: String, label: String, in scope: TenantScope) async throws -> ReleaseLabel {
        try await app.withTenant(scope.tenantID) { tx in
            let owner = try await Self.prompt(tx, tenantID: scope.tenantID, name: prompt)
            let previous = try await LabelStore.rollbackTarget(
                tx, tenantID: scope.tenantID, kind: .prompt, subjectID: owner.id, subjectName: prompt, label: label)
            return try await LabelStore.move(
                tx, tenantID: scope.tenantID, kind: .prompt, subjectID: owner.id, subjectName: prompt, name: label, versionID: previous.id,
                version: previous.version, reason: .rollback, actor: scope.actor)
        }
    }

    public func labelHistory(_ prompt: String, label: String, in scope: TenantScope) async throws -> [LabelMove] {
        try await app.withTenant(scope.tenantID) { tx in
            let owner = try await Self.prompt(tx, tenantID: scope.tenantID, name: prompt)
            guard let existing = try await LabelStore.get(tx, tenantID: scope.tenantID, kind: .prompt, subjectID: owner.id, name: label) else {
                throw ReleaseError.notFound("label '\(label)' of '\(prompt)'")
            }
            return try await LabelStore.history(tx, tenantID: scope.tenantID, labelID: existing.id)
        }
    }

    // MARK: Rows

    static func validateName(_ name: String) throws(ReleaseError) {
        let bytes = Array(name.utf8)
        guard (1...100).contains(bytes.count), let first = bytes.first, first >= 97, first <= 122,
            bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 46 || $0 == 45 })
        else { throw .invalid("name: 1-100 lowercase letters, digits, '_', '.', '-', starting with a letter") }
    }

    static func check(template: String, variables: [PromptVariable], parameters: ReleaseParameters, changelog: String) throws(ReleaseError) {
        guard template.unicodeScalars.count <= 100_000 else { throw .invalid("template: at most 100000 characters") }
        guard variables.count <= 100 else { throw .invalid("variables: at most 100") }
        guard changelog.unicodeScalars.count <= 1000 else { throw .invalid("changelog: at most 1000 characters") }
        try PromptTemplate.validate(template, variables: variables)
        try ParameterRules.check(parameters)
    }

    static func prompt(_ tx: Transaction, tenantID: UUID, name: String) async throws -> Prompt {
        guard let row = try await tx.query("SELECT \(promptColumns) FROM prompts WHERE tenant_id = $1 AND name = $2", [tenantID, name]).first else {
            throw ReleaseError.notFound("prompt '\(name.prefix(100))'")
        }
        return try decodePrompt(row)
    }

    static func version(_ tx: Transaction, tenantID: UUID, prompt: String, version text: String) async throws -> PromptVersion {
        guard let version = Semver(text) else { throw ReleaseError.invalid("version: must be a semantic version such as 1.4.0") }
        let owner = try await self.prompt(tx, tenantID: tenantID, name: prompt)
        guard let row = try await tx.query(
            "SELECT \(versionColumns) FROM prompt_versions WHERE tenant_id = $1 AND prompt_id = $2 AND version = $3",
            [tenantID, owner.id, version.description]
        ).first else { throw ReleaseError.notFound("version \(version) of '\(prompt)'") }
        return try decodeVersion(row)
    }

    static func decodePrompt(_ row: Row) throws -> Prompt {
        Prompt(
            id: try row.uuid("id"), tenantID: try row.uuid("tenant_id"), name: try row.string("name"), description: try row.string("description"),
            createdAt: try row.date("created_at"))
    }

    static func decodeVersion(_ row: Row) throws -> PromptVersion {
        PromptVersion(
            id: try row.uuid("id"), promptID: try row.uuid("prompt_id"), version: Semver(try row.string("version")) ?? Semver("0.0.0")!,
            template: try row.string("template"), variables: try JSONText.decode([PromptVariable].self, try row.string("variables")),
            parameters: try JSONText.decode(ReleaseParameters.self, try row.string("parameters")), changelog: try row.string("changelog"),
            status: PromptVersion.Status(rawValue: try row.string("status")) ?? .draft, createdAt: try row.date("created_at"),
            publishedAt: try row.optionalDate("published_at"))
    }
}

extension JSONText {
    /// A Codable value as `jsonb` text (sorted keys, so equal values are equal text).
    static func encode(_ value: some Encodable) throws -> JSONText {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return JSONText(String(decoding: try encoder.encode(value), as: UTF8.self))
    }

    static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
