internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisReleases
internal import JarvisStore

/// `/v1/tenants/{tenant}/flags`: feature flags (`flag:read`, `flag:write`).
struct FlagController {
    let services: AppServices
    var flags: Flags { services.releases.flags }

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":key", use: get)
        group.patch(":key", use: update)
        group.delete(":key", use: delete)
    }

    struct Create: RequestBody {
        let key: String
        let description: String?
        let kind: FeatureFlag.Kind
        let variants: [String]?
        let `default`: String
        let rules: [FeatureFlag.Rule]?
        let enabled: Bool?
        enum CodingKeys: String, CodingKey, CaseIterable { case key, description, kind, variants, `default`, rules, enabled }
    }

    struct Update: RequestBody {
        let description: String?
        let variants: [String]?
        let `default`: String?
        let rules: [FeatureFlag.Rule]?
        let enabled: Bool?
        enum CodingKeys: String, CodingKey, CaseIterable { case description, variants, `default`, rules, enabled }
    }

    struct Body: ResponseEncodable, Sendable {
        let id: String
        let key: String
        let description: String
        let kind: String
        let variants: [String]
        let `default`: String
        let rules: [FeatureFlag.Rule]
        let enabled: Bool
        let updatedAt: Date

        init(_ f: FeatureFlag) {
            id = f.id.lowercasedString
            key = f.key
            description = f.description
            kind = f.kind.rawValue
            variants = f.variants
            self.default = f.defaultValue
            rules = f.rules
            enabled = f.enabled
            updatedAt = f.updatedAt
        }
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<Body> {
        let scope = try await services.scope(context, permission: "flag:write")
        let body = try await RequestDecoder.decode(Create.self, from: request, context: context)
        let flag = try await flags.create(
            body.key,
            .init(description: body.description ?? "", kind: body.kind, variants: body.variants ?? [], defaultValue: body.default,
                  rules: body.rules ?? [], enabled: body.enabled ?? true), in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/flags/\(flag.key)"], response: Body(flag))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        let scope = try await services.scope(context, permission: "flag:read")
        return Page(all: try await flags.list(in: scope), map: Body.init)
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "flag:read")
        return Body(try await flags.get(try context.parameters.require("key"), in: scope))
    }

    @Sendable func update(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "flag:write")
        let body = try await RequestDecoder.decode(Update.self, from: request, context: context)
        return Body(try await flags.update(
            try context.parameters.require("key"), description: body.description, variants: body.variants, defaultValue: body.default,
            rules: body.rules, enabled: body.enabled, in: scope))
    }

    @Sendable func delete(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "flag:write")
        try await flags.delete(try context.parameters.require("key"), in: scope)
        return Response(status: .noContent)
    }
}
