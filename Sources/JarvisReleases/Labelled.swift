public import JarvisAccess

/// What has labels: prompts and models. One HTTP controller serves both through this.
public protocol Labelled: Sendable {
    func labels(_ name: String, in scope: TenantScope) async throws -> [ReleaseLabel]
    func setLabel(_ name: String, label: String, to version: String, in scope: TenantScope) async throws -> ReleaseLabel
    func rollbackLabel(_ name: String, label: String, in scope: TenantScope) async throws -> ReleaseLabel
    func labelHistory(_ name: String, label: String, in scope: TenantScope) async throws -> [LabelMove]
}

extension Prompts: Labelled {}
extension Models: Labelled {}
