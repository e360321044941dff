internal import Foundation
internal import JarvisAudit
internal import JarvisStore

/// Labels of prompts and models, inside the caller's tenant transaction: moved in one audited step
/// with the previous target kept in the history, so a rollback is "move it back".
enum LabelStore {
    static let columns = "id, kind, subject_id, name, version_id, version, updated_at"

    static func list(_ tx: Transaction, tenantID: UUID, kind: ReleaseKind, subjectID: UUID) async throws -> [ReleaseLabel] {
        try await tx.query(
            "SELECT \(columns) FROM release_labels WHERE tenant_id = $1 AND kind = $2 AND subject_id = $3 ORDER BY name",
            [tenantID, kind.rawValue, subjectID]
        ).all.map(decode)
    }

    static func get(_ tx: Transaction, tenantID: UUID, kind: ReleaseKind, subjectID: UUID, name: String) async throws -> ReleaseLabel? {
        try await tx.query(
            "SELECT \(columns) FROM release_labels WHERE tenant_id = $1 AND kind = $2 AND subject_id = $3 AND name = $4",
            [tenantID, kind.rawValue, subjectID, name]
        ).first.map(decode)
    }

    static func decode(_ row: Row) throws -> ReleaseLabel {
        ReleaseLabel(
            id: try row.uuid("id"), kind: ReleaseKind(rawValue: try row.string("kind")) ?? .prompt, subjectID: try row.uuid("subject_id"),
            name: try row.string("name"), versionID: try row.uuid("version_id"),
            version: Semver(try row.string("version")) ?? Semver("0.0.0")!, updatedAt: try row.date("updated_at"))
    }

    /// A label name: lowercase letters, digits, `_` and `-`, starting with a letter — so never
    /// something that reads as a version number (`2`, `1.4.0`).
    static func validateName(_ name: String) throws(ReleaseError) {
        let bytes = Array(name.utf8)
        guard (1...63).contains(bytes.count), let first = bytes.first, first >= 97, first <= 122,
            bytes.allSatisfy({ ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 || $0 == 45 })
        else {
            throw .invalid("label: 1-63 lowercase letters, digits, '_' or '-', starting with a letter (a version number cannot be a label)")
        }
    }

    /// Points `name` at `versionID` (creating the label), audited, with the move in the history.
    /// - Returns: the label after the move.
    @discardableResult
    static func move(
        _ tx: Transaction, tenantID: UUID, kind: ReleaseKind, subjectID: UUID, subjectName: String, name: String, versionID: UUID,
        version: Semver, reason: LabelMove.Reason, actor: AuditActor
    ) async throws -> ReleaseLabel {
        try validateName(name)
        let existing = try await get(tx, tenantID: tenantID, kind: kind, subjectID: subjectID, name: name)
        tx.noteChange(tenantID)
        let labelID = existing?.id ?? UUIDv7.make()
        if existing == nil {
            try await tx.query(
                """
                INSERT INTO release_labels (tenant_id, id, kind, subject_id, name, version_id, version, updated_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """, [tenantID, labelID, kind.rawValue, subjectID, name, versionID, version.description, actor.id])
        } else if existing?.versionID != versionID {
            try await tx.query(
                "UPDATE release_labels SET version_id = $3, version = $4, updated_by = $5, updated_at = now() WHERE tenant_id = $1 AND id = $2",
                [tenantID, labelID, versionID, version.description, actor.id])
        }
        try await tx.query(
            """
            INSERT INTO release_label_history (tenant_id, id, label_id, from_version_id, from_version, to_version_id, to_version, reason, actor_id)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """,
            [tenantID, UUIDv7.make(), labelID, existing?.versionID, existing?.version.description, versionID, version.description,
             reason.rawValue, actor.id])
        var details: [String: AuditValue] = [
            "kind": .string(kind.rawValue), "subject": .string(subjectName), "label": .string(name), "to_version": .string(version.description),
            "reason": .string(reason.rawValue),
        ]
        if let from = existing?.version { details["from_version"] = .string(from.description) }
        try await AuditLog.record(
            tx, tenantID: tenantID, actor: actor, action: "label.\(reason.rawValue)", targetType: "label", targetID: labelID.lowercasedString,
            details: details)
        guard let label = try await get(tx, tenantID: tenantID, kind: kind, subjectID: subjectID, name: name) else {
            throw StoreError.decoding("label vanished")
        }
        return label
    }

    static func history(_ tx: Transaction, tenantID: UUID, labelID: UUID) async throws -> [LabelMove] {
        try await tx.query(
            """
            SELECT id, from_version, to_version, reason, actor_id, created_at FROM release_label_history
            WHERE tenant_id = $1 AND label_id = $2 ORDER BY id DESC LIMIT 200
            """, [tenantID, labelID]
        ).all.map { row in
            LabelMove(
                id: try row.uuid("id"), fromVersion: try row.optionalString("from_version").flatMap(Semver.init),
                toVersion: Semver(try row.string("to_version")) ?? Semver("0.0.0")!,
                reason: LabelMove.Reason(rawValue: try row.string("reason")) ?? .move, actorID: try row.optionalUUID("actor_id"),
                createdAt: try row.date("created_at"))
        }
    }

    /// The version the label pointed at before its last move (the rollback target).
    static func previousTarget(_ tx: Transaction, tenantID: UUID, labelID: UUID) async throws -> (id: UUID, version: Semver)? {
        guard let row = try await tx.query(
            "SELECT from_version_id, from_version FROM release_label_history WHERE tenant_id = $1 AND label_id = $2 ORDER BY id DESC LIMIT 1",
            [tenantID, labelID]
        ).first, let id = try row.optionalUUID("from_version_id"), let version = try row.optionalString("from_version").flatMap(Semver.init)
        else { return nil }
        return (id, version)
    }

    /// Where rolling `label` back goes: the version it pointed at before its last move (so a second
    /// rollback undoes the first). Refused while a rollout runs on it: aborting one is its rollback.
    static func rollbackTarget(
        _ tx: Transaction, tenantID: UUID, kind: ReleaseKind, subjectID: UUID, subjectName: String, label: String
    ) async throws -> (id: UUID, version: Semver) {
        guard let existing = try await get(tx, tenantID: tenantID, kind: kind, subjectID: subjectID, name: label) else {
            throw ReleaseError.notFound("label '\(label.prefix(63))' of '\(subjectName)'")
        }
        guard try await !hasActiveRollout(tx, tenantID: tenantID, labelID: existing.id) else {
            throw ReleaseError.conflict("a rollout is running on '\(label)'; abort it to go back to its stable version")
        }
        guard let previous = try await previousTarget(tx, tenantID: tenantID, labelID: existing.id) else {
            throw ReleaseError.conflict("label '\(label)' has no earlier version to go back to")
        }
        return previous
    }

    /// True while a rollout runs or waits on the label.
    static func hasActiveRollout(_ tx: Transaction, tenantID: UUID, labelID: UUID) async throws -> Bool {
        try await !tx.query(
            "SELECT 1 FROM rollouts WHERE tenant_id = $1 AND label_id = $2 AND state IN ('running', 'paused')", [tenantID, labelID]
        ).isEmpty
    }
}
