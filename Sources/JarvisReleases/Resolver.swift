public import Foundation
public import JarvisStore
internal import JarvisAccess
internal import JarvisCache
internal import JarvisCrypto
internal import JarvisJSON
internal import Synchronization

/// Which version a subject gets, from memory: per tenant, every label of its prompts and models
/// with the version it points at and the rollout running on it, and its flags. A tenant is loaded
/// on its first resolve (once however many ask) and dropped when the change feed says something of
/// it changed — a label move, a rollout step or a rollback reaches every instance as soon as its
/// NOTIFY does, with no TTL to wait out. Answers are prepared as bytes when loaded.
public final class Resolver: Sendable {
    let platform: Database
    private let tenants = ShardedMap<UUID, Snapshot>(minimumShards: 16, spread: ShardBits.uuid)
    private let loads = SingleFlight<UUID, Snapshot>()
    // Locking rule: generations are bumped by invalidations and read around loads, never with a shard lock.
    private let generations = Mutex<(all: Int, tenants: [UUID: Int])>((0, [:]))

    public init(platform: Database, changes: ChangeFeed?) {
        self.platform = platform
        changes?.subscribe { [weak self] change in
            switch change {
            // Platform models serve every tenant: a change to them drops everyone.
            case .tenant(let id) where id == PlatformTenant.id: self?.dropAll()
            case .tenant(let id): self?.drop(id)
            case .everything: self?.dropAll()
            }
        }
    }

    func drop(_ tenantID: UUID) {
        generations.withLock { $0.tenants[tenantID, default: 0] += 1 }
        tenants.withValue(tenantID) { $0 = nil }
    }

    func dropAll() {
        generations.withLock { $0.all += 1 }
        tenants.forEachShard { $0.removeAll() }
    }

    /// A label of a prompt or model: one key, so a resolve is one hashed lookup.
    struct LabelKey: Hashable, Sendable {
        let kind: ReleaseKind
        let name: String
        let label: String

        // The kind only tells a prompt from a model of the same name: compared, not hashed
        // (a String-backed enum would hash its raw text).
        func hash(into hasher: inout Hasher) {
            hasher.combine(name)
            hasher.combine(label)
        }

        static func == (a: LabelKey, b: LabelKey) -> Bool { a.kind == b.kind && a.name == b.name && a.label == b.label }
    }

    /// One tenant's releases as loaded.
    final class Snapshot: Sendable {
        let labels: [LabelKey: Target]
        let flags: [(flag: FeatureFlag, idText: String)]

        init(labels: [LabelKey: Target], flags: [(flag: FeatureFlag, idText: String)]) {
            self.labels = labels
            self.flags = flags
        }
    }

    /// What a label resolves to: its version, and the candidate of a rollout on it.
    final class Target: Sendable {
        let stable: Answer
        let rollout: (idText: String, basisPoints: Int, candidate: Answer)?
        /// A retired model version: refused, not served.
        let retired: Bool

        init(stable: Answer, rollout: (idText: String, basisPoints: Int, candidate: Answer)?, retired: Bool) {
            self.stable = stable
            self.rollout = rollout
            self.retired = retired
        }
    }

    /// One prepared answer: its JSON body and ETag, and what rendering needs.
    public final class Answer: Sendable {
        public let body: [UInt8]
        public let etag: String
        public let version: String
        let template: String?
        let variables: [PromptVariable]

        init(body: [UInt8], etag: String, version: String, template: String?, variables: [PromptVariable]) {
            self.body = body
            self.etag = etag
            self.version = version
            self.template = template
            self.variables = variables
        }

        /// The same answer with the template rendered (`rendered` in place of the template).
        public func rendered(_ values: [String: String]) throws(ReleaseError) -> (body: [UInt8], etag: String) {
            let text = try PromptTemplate(template ?? "").render(values, declared: variables)
            var out = Array(body.dropLast())
            out += #","rendered":"#.utf8
            JSONWriter.appendString(text, to: &out)
            out.append(125)
            let (high, _) = SHA256.prefix128(String(decoding: out, as: UTF8.self))
            return (out, "\"r-\(String(high, radix: 16))\"")
        }
    }

    // MARK: Resolving

    /// The answer for `subject` on `label` of prompt or model `name`; nil when there is no such label.
    /// - Throws: `conflict` for a retired model version.
    public func resolve(_ kind: ReleaseKind, _ name: String, label: String, subject: String?, tenantID: UUID) async throws -> Answer? {
        let snapshot = try await self.snapshot(tenantID)
        return try Self.answer(snapshot, kind, name, label: label, subject: subject)
    }

    /// The decision from memory alone: nil when the tenant is not loaded (the benchmark measures this).
    public func resolveLoaded(_ kind: ReleaseKind, _ name: String, label: String, subject: String?, tenantID: UUID) throws(ReleaseError) -> Answer? {
        guard let snapshot = tenants[tenantID] else { return nil }
        return try Self.answer(snapshot, kind, name, label: label, subject: subject)
    }

    static func answer(_ snapshot: Snapshot, _ kind: ReleaseKind, _ name: String, label: String, subject: String?) throws(ReleaseError) -> Answer? {
        guard let target = snapshot.labels[LabelKey(kind: kind, name: name, label: label)] else { return nil }
        return try choose(target, subject: subject)
    }

    /// The decision alone, for a snapshot already in memory (the benchmark measures this).
    static func choose(_ target: Target, subject: String?) throws(ReleaseError) -> Answer {
        if let rollout = target.rollout, let subject, Bucket.of(rollout.idText, subject: subject) < rollout.basisPoints {
            return rollout.candidate
        }
        guard !target.retired else { throw .conflict("the version '\(target.stable.version)' points at is retired") }
        return target.stable
    }

    /// Every flag's value for `subject` (or just `keys`).
    public func flags(for subject: FeatureFlag.Subject, keys: Set<String>?, tenantID: UUID) async throws -> [(key: String, value: String, rule: Int?)] {
        let snapshot = try await self.snapshot(tenantID)
        return snapshot.flags.compactMap { entry in
            if let keys, !keys.contains(entry.flag.key) { return nil }
            let (value, rule) = entry.flag.evaluate(for: subject, idText: entry.idText)
            return (entry.flag.key, value, rule)
        }
    }

    /// A tenant's snapshot from memory, loaded on a miss. A load that an invalidation overtook is
    /// answered from but not kept.
    func snapshot(_ tenantID: UUID) async throws -> Snapshot {
        if let hit = tenants[tenantID] { return hit }
        let before = generations.withLock { ($0.all, $0.tenants[tenantID] ?? 0) }
        let loaded = try await loads.run(tenantID) { try await self.load(tenantID) }
        let after = generations.withLock { ($0.all, $0.tenants[tenantID] ?? 0) }
        if before == after { tenants.withValue(tenantID) { $0 = loaded } }
        return loaded
    }

    /// Puts a snapshot in memory as if it had been loaded (the benchmark, without a database).
    func install(_ snapshot: Snapshot, for tenantID: UUID) { tenants.withValue(tenantID) { $0 = snapshot } }

    // MARK: Loading

    func load(_ tenantID: UUID) async throws -> Snapshot {
        try await platform.withTransaction { tx in
            let labels = try await tx.query(
                """
                SELECT l.kind, l.name, l.subject_id, l.version_id, r.id AS rollout_id, r.percent, r.candidate_version_id
                FROM release_labels l
                LEFT JOIN rollouts r ON r.tenant_id = l.tenant_id AND r.label_id = l.id AND r.state IN ('running', 'paused')
                WHERE l.tenant_id = $1
                """, [tenantID])
            var promptIDs = Set<UUID>(), modelIDs = Set<UUID>(), versionIDs = Set<UUID>()
            for row in labels.all {
                if try row.string("kind") == "prompt" { promptIDs.insert(try row.uuid("subject_id")) } else { modelIDs.insert(try row.uuid("subject_id")) }
                versionIDs.insert(try row.uuid("version_id"))
                if let candidate = try row.optionalUUID("candidate_version_id") { versionIDs.insert(candidate) }
            }
            let ids = TextArray(versionIDs.map(\.lowercasedString))
            let promptNames = try Dictionary(uniqueKeysWithValues: await tx.query(
                "SELECT id, name FROM prompts WHERE tenant_id = $1 AND id = ANY($2::uuid[])", [tenantID, TextArray(promptIDs.map(\.lowercasedString))]
            ).all.map { (try $0.uuid("id"), try $0.string("name")) })
            let modelNames = try Dictionary(uniqueKeysWithValues: await tx.query(
                "SELECT id, name FROM models WHERE tenant_id IN ($1, $3) AND id = ANY($2::uuid[])",
                [tenantID, TextArray(modelIDs.map(\.lowercasedString)), PlatformTenant.id]
            ).all.map { (try $0.uuid("id"), try $0.string("name")) })
            var promptVersions: [UUID: PromptVersion] = [:]
            for row in try await tx.query(
                "SELECT \(Prompts.versionColumns) FROM prompt_versions WHERE tenant_id = $1 AND id = ANY($2::uuid[])", [tenantID, ids]
            ).all {
                let version = try Prompts.decodeVersion(row)
                promptVersions[version.id] = version
            }
            var modelVersions: [UUID: ModelVersion] = [:]
            for row in try await tx.query(
                "SELECT \(Models.versionColumns) FROM model_versions WHERE tenant_id IN ($1, $3) AND id = ANY($2::uuid[])", [tenantID, ids, PlatformTenant.id]
            ).all {
                let version = try Models.decodeVersion(row)
                modelVersions[version.id] = version
            }
            var targets: [LabelKey: Target] = [:]
            for row in labels.all {
                let label = try row.string("name")
                let subjectID = try row.uuid("subject_id")
                let versionID = try row.uuid("version_id")
                let rolloutID = try row.optionalUUID("rollout_id")
                let candidateID = try row.optionalUUID("candidate_version_id")
                if try row.string("kind") == "prompt" {
                    guard let name = promptNames[subjectID], let stable = promptVersions[versionID] else { continue }
                    var rollout: (idText: String, basisPoints: Int, candidate: Answer)?
                    if let rolloutID, let candidateID, let candidate = promptVersions[candidateID] {
                        rollout = (rolloutID.lowercasedString, try row.int("percent") * 100,
                                   Self.answer(prompt: name, label: label, candidate, rollout: (rolloutID, "candidate")))
                    }
                    let answer = Self.answer(prompt: name, label: label, stable, rollout: rolloutID.map { ($0, "stable") })
                    targets[LabelKey(kind: .prompt, name: name, label: label)] = Target(stable: answer, rollout: rollout, retired: false)
                } else {
                    guard let name = modelNames[subjectID], let stable = modelVersions[versionID] else { continue }
                    var rollout: (idText: String, basisPoints: Int, candidate: Answer)?
                    if let rolloutID, let candidateID, let candidate = modelVersions[candidateID] {
                        rollout = (rolloutID.lowercasedString, try row.int("percent") * 100,
                                   Self.answer(model: name, label: label, candidate, rollout: (rolloutID, "candidate")))
                    }
                    let answer = Self.answer(model: name, label: label, stable, rollout: rolloutID.map { ($0, "stable") })
                    targets[LabelKey(kind: .model, name: name, label: label)] = Target(
                        stable: answer, rollout: rollout, retired: stable.lifecycle == .retired)
                }
            }
            let flags = try await tx.query(
                "SELECT \(Flags.columns) FROM feature_flags WHERE tenant_id = $1 ORDER BY key", [tenantID]
            ).all.map { row in
                let flag = try Flags.decode(row)
                return (flag, flag.id.lowercasedString)
            }
            return Snapshot(labels: targets, flags: flags)
        }
    }

    static func head(_ kind: String, _ name: String, label: String, version: String, versionID: UUID, rollout: (UUID, String)?) -> [UInt8] {
        var out: [UInt8] = []
        out += #"{"kind":"#.utf8
        JSONWriter.appendString(kind, to: &out)
        out += #","name":"#.utf8
        JSONWriter.appendString(name, to: &out)
        out += #","label":"#.utf8
        JSONWriter.appendString(label, to: &out)
        out += #","version":"#.utf8
        JSONWriter.appendString(version, to: &out)
        out += #","version_id":""#.utf8
        versionID.appendLowercased(to: &out)
        out.append(34)
        if let (id, arm) = rollout {
            out += #","rollout":{"id":""#.utf8
            id.appendLowercased(to: &out)
            out += #"","arm":""#.utf8
            out += arm.utf8
            out += #""}"#.utf8
        }
        return out
    }

    static func parameters(_ parameters: ReleaseParameters, into out: inout [UInt8]) {
        out += #","parameters":"#.utf8
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        out += (try? encoder.encode(parameters)).map { Array($0) } ?? Array("{}".utf8)
    }

    static func etag(_ versionID: UUID, _ rollout: (UUID, String)?) -> String {
        "\"\(versionID.lowercasedString)\(rollout.map { "-\($0.1)-\($0.0.lowercasedString.prefix(8))" } ?? "")\""
    }

    static func answer(prompt name: String, label: String, _ version: PromptVersion, rollout: (UUID, String)?) -> Answer {
        var out = head("prompt", name, label: label, version: version.version.description, versionID: version.id, rollout: rollout)
        out += #","template":"#.utf8
        JSONWriter.appendString(version.template, to: &out)
        out += #","variables":"#.utf8
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        out += (try? encoder.encode(version.variables)).map { Array($0) } ?? Array("[]".utf8)
        parameters(version.parameters, into: &out)
        out.append(125)
        return Answer(body: out, etag: etag(version.id, rollout), version: version.version.description, template: version.template, variables: version.variables)
    }

    static func answer(model name: String, label: String, _ version: ModelVersion, rollout: (UUID, String)?) -> Answer {
        var out = head("model", name, label: label, version: version.version.description, versionID: version.id, rollout: rollout)
        out += #","provider_model_id":"#.utf8
        JSONWriter.appendString(version.providerModelID, to: &out)
        out += #","lifecycle":"#.utf8
        JSONWriter.appendString(version.lifecycle.rawValue, to: &out)
        parameters(version.parameters, into: &out)
        out.append(125)
        return Answer(body: out, etag: etag(version.id, rollout), version: version.version.description, template: nil, variables: [])
    }
}
