public import Foundation
internal import JarvisAccess

/// A prompt of a tenant: a name and its versions.
public struct Prompt: Sendable, Equatable {
    public let id: UUID
    public let tenantID: UUID
    public let name: String
    public let description: String
    public let createdAt: Date
}

public struct PromptVersion: Sendable, Equatable {
    public enum Status: String, Sendable, Codable { case draft, published }

    public let id: UUID
    public let promptID: UUID
    public let version: Semver
    public let template: String
    public let variables: [PromptVariable]
    public let parameters: ReleaseParameters
    public let changelog: String
    public let status: Status
    public let createdAt: Date
    public let publishedAt: Date?
}

/// A model of a tenant, or of the platform (usable by every tenant).
public struct Model: Sendable, Equatable {
    public let id: UUID
    public let tenantID: UUID
    public let name: String
    public let provider: String
    public let description: String
    public let createdAt: Date
    public var isPlatform: Bool { tenantID == PlatformTenant.id }
}

public struct ModelVersion: Sendable, Equatable {
    public enum Lifecycle: String, Sendable, Codable, CaseIterable { case active, deprecated, retired }

    public let id: UUID
    public let modelID: UUID
    public let version: Semver
    public let providerModelID: String
    public let parameters: ReleaseParameters
    public let lifecycle: Lifecycle
    public let createdAt: Date
}

/// What a label, a rollout or a resolve is about: a prompt or a model.
public enum ReleaseKind: String, Sendable, Codable, CaseIterable { case prompt, model }

/// A label (`production`, `staging`, …) pointing at one version of a prompt or model.
public struct ReleaseLabel: Sendable, Equatable {
    public let id: UUID
    public let kind: ReleaseKind
    public let subjectID: UUID
    public let name: String
    public let versionID: UUID
    public let version: Semver
    public let updatedAt: Date
}

public struct LabelMove: Sendable, Equatable {
    public enum Reason: String, Sendable, Codable { case move, rollback, promote }

    public let id: UUID
    public let fromVersion: Semver?
    public let toVersion: Semver
    public let reason: Reason
    public let actorID: UUID?
    public let createdAt: Date
}
