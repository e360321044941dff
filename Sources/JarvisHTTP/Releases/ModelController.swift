internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisReleases
internal import JarvisStore

/// `/v1/tenants/{tenant}/models`: the tenant's models and the platform's, their versions and
/// lifecycle (labels are `LabelController`'s). `model:read`, `model:write`, and `model:publish` for lifecycle.
struct ModelController {
    let services: AppServices
    var models: Models { services.releases.models }

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":name", use: get)
        group.post(":name/versions", use: createVersion)
        group.get(":name/versions", use: versions)
        group.get(":name/versions/:version", use: version)
        group.patch(":name/versions/:version", use: setLifecycle)
    }

    struct Create: RequestBody {
        let name: String
        let provider: String
        let description: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, provider, description }
    }

    struct NewVersion: RequestBody {
        let version: String
        let providerModelId: String
        let parameters: ReleaseParameters?
        enum CodingKeys: String, CodingKey, CaseIterable { case version, providerModelId = "provider_model_id", parameters }
    }

    struct Lifecycle: RequestBody {
        let lifecycle: ModelVersion.Lifecycle
        enum CodingKeys: String, CodingKey, CaseIterable { case lifecycle }
    }

    struct Body: ResponseEncodable, Sendable {
        let id: String
        let name: String
        let provider: String
        let description: String
        /// A platform-wide model every tenant may use.
        let platform: Bool
        let createdAt: Date

        init(_ m: Model) {
            id = m.id.lowercasedString
            name = m.name
            provider = m.provider
            description = m.description
            platform = m.isPlatform
            createdAt = m.createdAt
        }
    }

    struct VersionBody: ResponseEncodable, Sendable {
        let id: String
        let version: String
        let providerModelId: String
        let parameters: ReleaseParameters
        let lifecycle: String
        let createdAt: Date

        init(_ v: ModelVersion) {
            id = v.id.lowercasedString
            version = v.version.description
            providerModelId = v.providerModelID
            parameters = v.parameters
            lifecycle = v.lifecycle.rawValue
            createdAt = v.createdAt
        }
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<Body> {
        let scope = try await services.scope(context, permission: "model:write")
        let body = try await RequestDecoder.decode(Create.self, from: request, context: context)
        let model = try await models.create(name: body.name, provider: body.provider, description: body.description ?? "", in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/models/\(model.name)"], response: Body(model))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        let scope = try await services.scope(context, permission: "model:read")
        return Page(all: try await models.list(in: scope), map: Body.init)
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "model:read")
        return Body(try await models.get(try context.parameters.require("name"), in: scope))
    }

    @Sendable func createVersion(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<VersionBody> {
        let scope = try await services.scope(context, permission: "model:write")
        let name = try context.parameters.require("name")
        let body = try await RequestDecoder.decode(NewVersion.self, from: request, context: context)
        let created = try await models.createVersion(
            name, version: body.version, providerModelID: body.providerModelId, parameters: body.parameters ?? [:], in: scope)
        return EditedResponse(
            status: .created,
            headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/models/\(name)/versions/\(created.version)"],
            response: VersionBody(created))
    }

    @Sendable func versions(_ request: Request, context: JarvisRequestContext) async throws -> Page<VersionBody> {
        let scope = try await services.scope(context, permission: "model:read")
        return Page(all: try await models.versions(try context.parameters.require("name"), in: scope), map: VersionBody.init)
    }

    @Sendable func version(_ request: Request, context: JarvisRequestContext) async throws -> VersionBody {
        let scope = try await services.scope(context, permission: "model:read")
        return VersionBody(try await models.version(try context.parameters.require("name"), try context.parameters.require("version"), in: scope))
    }

    @Sendable func setLifecycle(_ request: Request, context: JarvisRequestContext) async throws -> VersionBody {
        // Deprecating and retiring decide what may be served: the operators' call, like labels.
        let scope = try await services.scope(context, permission: "model:publish")
        let body = try await RequestDecoder.decode(Lifecycle.self, from: request, context: context)
        return VersionBody(try await models.setLifecycle(
            try context.parameters.require("name"), version: try context.parameters.require("version"), to: body.lifecycle, in: scope))
    }
}
