internal import Hummingbird
internal import Foundation
internal import JarvisReleases
internal import JarvisStore

/// Shapes shared by the prompt and model controllers (labels and their history).
struct LabelBody: ResponseEncodable, Sendable {
    let name: String
    let kind: String
    let version: String
    let versionId: String
    let updatedAt: Date

    init(_ l: ReleaseLabel) {
        name = l.name
        kind = l.kind.rawValue
        version = l.version.description
        versionId = l.versionID.lowercasedString
        updatedAt = l.updatedAt
    }
}

struct LabelMoveBody: Encodable, Sendable {
    let id: String
    let fromVersion: String?
    let toVersion: String
    let reason: String
    let actorId: String?
    let createdAt: Date

    init(_ m: LabelMove) {
        id = m.id.lowercasedString
        fromVersion = m.fromVersion?.description
        toVersion = m.toVersion.description
        reason = m.reason.rawValue
        actorId = m.actorID?.lowercasedString
        createdAt = m.createdAt
    }
}

struct SetLabel: RequestBody {
    let version: String
    enum CodingKeys: String, CodingKey, CaseIterable { case version }
}

extension ReleaseValue {
    /// The text a template receives for a variable given as this value.
    var templateText: String? {
        switch self {
        case .string(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .number(let number): return number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .null: return nil
        }
    }
}
