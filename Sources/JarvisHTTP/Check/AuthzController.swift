internal import Hummingbird
internal import HTTPTypes
internal import JarvisAccess
internal import JarvisAudit
internal import JarvisIdentity
internal import JarvisQuota
internal import JarvisStore
internal import NIOCore
internal import JarvisJSON

/// `GET /v1/authz`: forward authentication for gateways, on the hot path (no authentication or
/// idempotency middleware; the answer is headers only). nginx `auth_request` and Traefik
/// `forwardAuth` send the original `Authorization` with `X-Original-Method`/`X-Original-URI` or
/// `X-Forwarded-Method`/`X-Forwarded-Uri`; Envoy's HTTP `ext_authz` calls `/v1/authz/<original
/// path>` with the original method. The route rules name the permission; the answer is 200 with
/// `X-Jarvis-Tenant` / `X-Jarvis-Principal`, 401 or 403.
struct AuthzController {
    let authenticator: Authenticator
    let rules: RouteRules
    let quotas: QuotaEngine
    let access: AccessTally

    static let tenantHeader = HTTPField.Name("X-Jarvis-Tenant")!
    static let principalHeader = HTTPField.Name("X-Jarvis-Principal")!
    static let kindHeader = HTTPField.Name("X-Jarvis-Principal-Kind")!
    static let originalMethod = [HTTPField.Name("X-Original-Method")!, HTTPField.Name("X-Forwarded-Method")!]
    static let originalURI = [HTTPField.Name("X-Original-URI")!, HTTPField.Name("X-Forwarded-Uri")!]
    static let envoyMethods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .head, .options]

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get("authz", use: forwardAuth)
        for method in Self.envoyMethods { group.on("authz/**", method: method, use: envoy) }
    }

    @Sendable func forwardAuth(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let method = Self.originalMethod.lazy.compactMap { request.headers[$0] }.first
        let uri = Self.originalURI.lazy.compactMap { request.headers[$0] }.first
        guard let method, let uri else {
            throw Problem.invalid("send the original request as X-Original-Method and X-Original-URI (or X-Forwarded-Method and X-Forwarded-Uri)")
        }
        return try await decide(method: method, uri: uri, authorization: request.headers[.authorization])
    }

    /// Envoy's form: the original path follows `/v1/authz`; its query is not part of the decision.
    @Sendable func envoy(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let original = String(request.uri.path.dropFirst("/v1/authz".count))
        return try await decide(method: request.method.rawValue, uri: original.isEmpty ? "/" : original, authorization: request.headers[.authorization])
    }

    /// Counts the decision into the access events (nil reason: allowed).
    func tally(_ caller: Caller, _ permission: Permission, reason: String?) {
        access.count(AccessTally.Key(
            tenantID: caller.tenantID, principalID: caller.principalID, principalKind: caller.kind == .user ? .user : .serviceAccount,
            source: "authz", permission: permission.name, outcome: reason == nil ? .success : .denied, reason: reason))
    }

    func decide(method: String, uri: String, authorization: String?) async throws -> Response {
        // Checked before the credential: a request no rule can judge is the gateway's mistake.
        let forwarded: ForwardedRequest
        do {
            forwarded = try ForwardedRequest(method: method, uri: uri)
        } catch .method(let reason), .uri(let reason) {
            throw Problem(.badRequest, "invalid-forwarded-request", reason)
        }
        let caller = try await authenticator.authenticate(authorization: authorization)
        guard let permission = rules.permission(for: forwarded) else {
            throw Problem(.forbidden, "no-route-rule", "no route rule covers \(forwarded.method) \(forwarded.path.prefix(200))")
        }
        guard caller.allows(permission) else {
            tally(caller, permission, reason: "permission_denied")
            throw AccessError.forbidden(permission)
        }
        // Each forwarded request is one request against the caller's rate limits.
        let decision = try await quotas.admit(
            QuotaAsk(requests: 1), caller: QuotaCaller(tenantID: caller.tenantID, principalID: caller.principalID, apiKeyID: caller.apiKeyID))
        if case .denied(let denial) = decision {
            tally(caller, permission, reason: denial.reason)
            throw Problem.from(denial)
        }
        tally(caller, permission, reason: nil)
        return Response(
            status: .ok,
            headers: [
                Self.tenantHeader: caller.tenantIDText, Self.principalHeader: caller.principalID.lowercasedText,
                Self.kindHeader: caller.kind.rawValue,
            ])
    }
}
