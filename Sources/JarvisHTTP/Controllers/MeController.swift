internal import Hummingbird
internal import JarvisAccess
internal import JarvisIdentity
internal import JarvisStore

/// `GET /v1/me`: who the credential is, with its roles and effective permissions;
/// `POST /v1/me/password`: a user changes their own password.
struct MeController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: me)
        group.post("password", use: changePassword)
    }

    struct Body: ResponseEncodable, Sendable {
        let tenantId: String
        let tenantSlug: String
        let principalId: String
        let kind: String
        let roles: [String]
        let permissions: [String]
        let superAdmin: Bool

        init(_ c: Caller) {
            tenantId = c.tenantID.lowercasedString
            tenantSlug = c.tenantSlug
            principalId = c.principalID.lowercasedString
            kind = c.kind.rawValue
            roles = c.roles.sorted()
            permissions = c.effectivePermissionNames
            superAdmin = c.isSuperAdmin
        }
    }

    struct ChangePassword: RequestBody {
        let currentPassword: String
        let newPassword: String
        enum CodingKeys: String, CodingKey, CaseIterable { case currentPassword = "current_password", newPassword = "new_password" }
    }

    @Sendable func me(_ request: Request, context: JarvisRequestContext) async throws -> Body {
        Body(try context.requireCaller())
    }

    @Sendable func changePassword(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        guard caller.kind == .user else { throw IdentityError.notAUser }
        let body = try await RequestDecoder.decode(ChangePassword.self, from: request, context: context)
        try Limits.text(body.currentPassword, "current_password", max: PasswordPolicy.maxLength)
        try await services.passwords.change(current: body.currentPassword, to: body.newPassword, caller: caller, actor: context.auditActor)
        return Response(status: .noContent)
    }
}
