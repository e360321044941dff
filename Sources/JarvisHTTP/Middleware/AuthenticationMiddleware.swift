internal import Hummingbird
internal import JarvisIdentity

/// Puts the authenticated caller on the context, or refuses the request with 401/403.
struct AuthenticationMiddleware: RouterMiddleware {
    typealias Context = JarvisRequestContext
    let authenticator: Authenticator

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.caller = try await authenticator.authenticate(authorization: request.headers[.authorization])
        return try await next(request, context)
    }
}
