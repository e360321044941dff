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

    struct Login: RequestBody {
        let tenant: String
        let email: String
        let password: String
        enum CodingKeys: String, CodingKey, CaseIterable { case tenant, email, password }
    }

    struct RefreshToken: RequestBody {
        let refreshToken: String
        enum CodingKeys: String, CodingKey, CaseIterable { case refreshToken = "refresh_token" }
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
        let body = try await RequestDecoder.decode(Login.self, from: request, context: context)
        try Limits.text(body.tenant, "tenant", max: 64)
        try Limits.text(body.email, "email", max: 254)
        try Limits.text(body.password, "password", max: PasswordPolicy.maxLength)
        return Self.respond(try await identity.login.login(tenant: body.tenant, email: body.email, password: body.password, actor: context.auditActor))
    }

    @Sendable func refresh(_ request: Request, context: JarvisRequestContext) async throws -> EditedResponse<SessionBody> {
        let body = try await RequestDecoder.decode(RefreshToken.self, from: request, context: context)
        try Limits.text(body.refreshToken, "refresh_token", max: 128)
        return Self.respond(try await identity.login.refresh(body.refreshToken, actor: context.auditActor))
    }

    @Sendable func logout(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let body = try await RequestDecoder.decode(RefreshToken.self, from: request, context: context)
        try Limits.text(body.refreshToken, "refresh_token", max: 128)
        try await identity.login.logout(body.refreshToken, actor: context.auditActor)
        return Response(status: .noContent)
    }
}
