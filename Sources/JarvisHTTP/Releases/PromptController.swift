internal import Hummingbird
internal import Foundation
internal import JarvisAccess
internal import JarvisReleases
internal import JarvisStore

/// `/v1/tenants/{tenant}/prompts`: prompts and their versions (drafts, publishing, rendering, diffs);
/// labels are `LabelController`'s. Reading needs `prompt:read`, drafting `prompt:write`, publishing `prompt:publish`.
struct PromptController {
    let services: AppServices
    var prompts: Prompts { services.releases.prompts }

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post(use: create)
        group.get(use: list)
        group.get(":name", use: get)
        group.post(":name/versions", use: createVersion)
        group.get(":name/versions", use: versions)
        group.get(":name/versions/:version", use: version)
        group.patch(":name/versions/:version", use: updateDraft)
        group.post(":name/versions/:version/publish", use: publish)
        group.post(":name/versions/:version/render", use: render)
        group.get(":name/diff", use: diff)
    }

    struct Create: RequestBody {
        let name: String
        let description: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case name, description }
    }

    struct NewVersion: RequestBody {
        let version: String
        let template: String
        let variables: [PromptVariable]?
        let parameters: ReleaseParameters?
        let changelog: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case version, template, variables, parameters, changelog }
    }

    struct DraftChange: RequestBody {
        let template: String?
        let variables: [PromptVariable]?
        let parameters: ReleaseParameters?
        let changelog: String?
        enum CodingKeys: String, CodingKey, CaseIterable { case template, variables, parameters, changelog }
    }

    struct Render: RequestBody {
        let variables: [String: ReleaseValue]?
        enum CodingKeys: String, CodingKey, CaseIterable { case variables }
    }

    struct Body: ResponseEncodable, Sendable {
        let id: String
        let name: String
        let description: String
        let createdAt: Date

        init(_ p: Prompt) {
            id = p.id.lowercasedString
            name = p.name
            description = p.description
            createdAt = p.createdAt
        }
    }

    struct VersionBody: ResponseEncodable, Sendable {
        let id: String
        let version: String
        let status: String
        let template: String
        let variables: [PromptVariable]
        let parameters: ReleaseParameters
        let changelog: String
        let createdAt: Date
        let publishedAt: Date?

        init(_ v: PromptVersion) {
            id = v.id.lowercasedString
            version = v.version.description
            status = v.status.rawValue
            template = v.template
            variables = v.variables
            parameters = v.parameters
            changelog = v.changelog
            createdAt = v.createdAt
            publishedAt = v.publishedAt
        }
    }

    struct Rendered: ResponseEncodable, Sendable {
        let version: String
        let rendered: String
    }

    struct DiffBody: ResponseEncodable, Sendable {
        struct Change: Encodable, Sendable {
            let name: String
            let change: String
        }

        let from: String
        let to: String
        let template: [LineDiff.Line]
        let variables: [Change]
        let parameters: [Change]
    }

    @Sendable func create(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<Body> {
        let scope = try await services.scope(context, permission: "prompt:write")
        let body = try await RequestDecoder.decode(Create.self, from: request, context: context)
        let prompt = try await prompts.create(name: body.name, description: body.description ?? "", in: scope)
        return EditedResponse(
            status: .created, headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/prompts/\(prompt.name)"], response: Body(prompt))
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<Body> {
        let scope = try await services.scope(context, permission: "prompt:read")
        return Page(all: try await prompts.list(in: scope), map: Body.init)
    }

    @Sendable func get(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        let scope = try await services.scope(context, permission: "prompt:read")
        return Body(try await prompts.get(try context.parameters.require("name"), in: scope))
    }

    @Sendable func createVersion(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<VersionBody> {
        let scope = try await services.scope(context, permission: "prompt:write")
        let name = try context.parameters.require("name")
        let body = try await RequestDecoder.decode(NewVersion.self, from: request, context: context)
        let created = try await prompts.createVersion(
            name, version: body.version,
            .init(template: body.template, variables: body.variables, parameters: body.parameters, changelog: body.changelog), in: scope)
        return EditedResponse(
            status: .created,
            headers: [.location: "/v1/tenants/\(scope.tenantID.lowercasedString)/prompts/\(name)/versions/\(created.version)"],
            response: VersionBody(created))
    }

    @Sendable func versions(_ request: Request, context: JarvisRequestContext) async throws -> Page<VersionBody> {
        let scope = try await services.scope(context, permission: "prompt:read")
        return Page(all: try await prompts.versions(try context.parameters.require("name"), in: scope), map: VersionBody.init)
    }

    @Sendable func version(_ request: Request, context: JarvisRequestContext) async throws -> VersionBody {
        let scope = try await services.scope(context, permission: "prompt:read")
        return VersionBody(try await prompts.version(try context.parameters.require("name"), try context.parameters.require("version"), in: scope))
    }

    @Sendable func updateDraft(_ request: Request, context: JarvisRequestContext) async throws -> VersionBody {
        let scope = try await services.scope(context, permission: "prompt:write")
        let body = try await RequestDecoder.decode(DraftChange.self, from: request, context: context)
        return VersionBody(try await prompts.updateDraft(
            try context.parameters.require("name"), version: try context.parameters.require("version"),
            .init(template: body.template, variables: body.variables, parameters: body.parameters, changelog: body.changelog), in: scope))
    }

    @Sendable func publish(_ request: Request, context: JarvisRequestContext) async throws -> VersionBody {
        let scope = try await services.scope(context, permission: "prompt:publish")
        return VersionBody(try await prompts.publish(try context.parameters.require("name"), version: try context.parameters.require("version"), in: scope))
    }

    @Sendable func render(_ request: Request, context: JarvisRequestContext) async throws -> Rendered {
        let scope = try await services.scope(context, permission: "prompt:read")
        let body = try await RequestDecoder.decode(Render.self, from: request, context: context, emptyAs: Render(variables: nil))
        let values = (body.variables ?? [:]).compactMapValues(\.templateText)
        let version = try context.parameters.require("version")
        let text = try await prompts.render(try context.parameters.require("name"), version, values: values, in: scope)
        return Rendered(version: version, rendered: text)
    }

    @Sendable func diff(_ request: Request, context: JarvisRequestContext) async throws -> DiffBody {
        let scope = try await services.scope(context, permission: "prompt:read")
        guard let from = request.query("from"), let to = request.query("to") else { throw Problem.invalid("from and to: both versions are required") }
        let diff = try await prompts.diff(try context.parameters.require("name"), from: from, to: to, in: scope)
        return DiffBody(
            from: diff.from.description, to: diff.to.description, template: diff.template,
            variables: diff.variables.map { .init(name: $0.name, change: $0.change) }, parameters: diff.parameters.map { .init(name: $0.name, change: $0.change) })
    }
}
