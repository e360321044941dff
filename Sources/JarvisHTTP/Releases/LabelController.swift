internal import Hummingbird
internal import JarvisAccess
internal import JarvisReleases

/// `/v1/tenants/{tenant}/{prompts|models}/{name}/labels`: the labels of a prompt or model, moving
/// them, rolling them back and their history. Reading needs `<kind>:read`, moving `<kind>:publish`.
struct LabelController<Subject: Labelled> {
    let services: AppServices
    let subject: Subject
    let read: Permission
    let publish: Permission

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(":name/labels", use: labels)
        group.put(":name/labels/:label", use: setLabel)
        group.post(":name/labels/:label/rollback", use: rollback)
        group.get(":name/labels/:label/history", use: history)
    }

    @Sendable func labels(_ request: Request, context: JarvisRequestContext) async throws -> Page<LabelBody> {
        let scope = try await services.scope(context, permission: read)
        return Page(all: try await subject.labels(try context.parameters.require("name"), in: scope), map: LabelBody.init)
    }

    @Sendable func setLabel(_ request: Request, context: JarvisRequestContext) async throws -> LabelBody {
        let scope = try await services.scope(context, permission: publish)
        let body = try await RequestDecoder.decode(SetLabel.self, from: request, context: context)
        return LabelBody(try await subject.setLabel(
            try context.parameters.require("name"), label: try context.parameters.require("label"), to: body.version, in: scope))
    }

    @Sendable func rollback(_ request: Request, context: JarvisRequestContext) async throws -> LabelBody {
        let scope = try await services.scope(context, permission: publish)
        return LabelBody(try await subject.rollbackLabel(try context.parameters.require("name"), label: try context.parameters.require("label"), in: scope))
    }

    @Sendable func history(_ request: Request, context: JarvisRequestContext) async throws -> Page<LabelMoveBody> {
        let scope = try await services.scope(context, permission: read)
        return Page(
            all: try await subject.labelHistory(try context.parameters.require("name"), label: try context.parameters.require("label"), in: scope),
            map: LabelMoveBody.init)
    }
}
