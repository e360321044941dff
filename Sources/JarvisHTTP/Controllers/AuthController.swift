internal import Hummingbird
internal import Foundation
internal import JarvisIdentity

/// `/v1/auth`: password login, refresh and logout. Unauthenticated: the body is the credential.
struct AuthController {
    let identity: IdentityServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.post("login", use: login)
        group.post("refresh", use: refresh)
        group.post("logout", use: logout)
    }

    struct SessionBody: ResponseEncodable, Sendable {
        let accessToken: String
        let tokenType: String
        let expiresIn: Int
        let refreshToken: String
    }

    static func respond(_ session: LoginService.Session) -> EditedResponse<SessionBody> {
        EditedResponse(
            headers: [.cacheControl: "no-store"],
            response: SessionBody(
                accessToken: session.accessToken, tokenType: "Bearer", expiresIn: session.expiresIn, refreshToken: session.refreshToken))
    }

    @Sendable func login(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<SessionBody> {
        let body = try await JSONBody.read(request, context: context, allowed: ["tenant", "email", "password"])
        let session = try await identity.login.login(
            tenant: try body.requiredString("tenant", maxLength: 64), email: try body.requiredString("email", maxLength: 254),
            password: try body.requiredString("password", maxLength: PasswordPolicy.maxLength), actor: context.auditActor)
        return Self.respond(session)
    }

    @Sendable func refresh(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<SessionBody> {
        let body = try await JSONBody.read(request, context: context, allowed: ["refresh_token"])
        return Self.respond(try await identity.login.refresh(try body.requiredString("refresh_token", maxLength: 128), actor: context.auditActor))
    }

    @Sendable func logout(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let body = try await JSONBody.read(request, context: context, allowed: ["refresh_token"])
        try await identity.login.logout(try body.requiredString("refresh_token", maxLength: 128), actor: context.auditActor)
        return Response(status: .noContent)
    }
}
