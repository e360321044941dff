internal import Hummingbird

/// `GET /v1/me`: who the credential is, with its roles and effective permissions.
struct MeController {
    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: me)
    }

    @Sendable func me(_ request: Request, context: JarvisRequestContext) async throws -> CallerBody {
        CallerBody(try context.requireCaller())
    }
}
