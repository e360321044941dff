internal import Hummingbird
internal import JarvisAccess
internal import JarvisIdentity
internal import JarvisStore

/// `GET /v1/me`: who the credential is, with its roles and effective permissions;
/// `POST /v1/me/password`: a user changes their own password.
struct MeController {
    let services: AppServices
    let passwords: PasswordStore

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: me)
        group.post("password", use: changePassword)
    }

    @Sendable func me(_ request: Request, context: JarvisRequestContext) async throws -> CallerBody {
        CallerBody(try context.requireCaller())
    }

    @Sendable func changePassword(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let caller = try context.requireCaller()
        guard caller.kind == .user else { throw IdentityError.notAUser }
        let body = try await JSONBody.read(request, context: context, allowed: ["current_password", "new_password"])
        let current = try body.requiredString("current_password", maxLength: PasswordPolicy.maxLength)
        let new = try body.requiredString("new_password", maxLength: PasswordPolicy.maxLength)
        let passwords = self.passwords
        let actor = context.auditActor
        try await services.app.withTenant(caller.tenantID) { tx in
            try await passwords.change(tx, tenantID: caller.tenantID, userID: caller.principalID, current: current, new: new, actor: actor)
        }
        return Response(status: .noContent)
    }
}
