internal import Hummingbird
internal import JarvisAccess
internal import JarvisAudit

/// Records each read of the admin API (GET, HEAD) as an `api.read` access event in the caller's
/// tenant: who read which route, with what answer. Through a batch writer, so a read never waits on
/// an audit insert; a full buffer drops and counts (`jarvis_audit_events_dropped_total{kind="read"}`).
/// Mounted after authentication: an unauthenticated request is refused before it reads anything.
struct ReadAuditMiddleware: RouterMiddleware {
    typealias Context = JarvisRequestContext
    let reads: SecurityEventWriter

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard request.method == .get || request.method == .head else { return try await next(request, context) }
        do {
            let response = try await next(request, context)
            record(request, context, status: Int(response.status.code))
            return response
        } catch {
            record(request, context, status: Int(Problem.from(error).0.status.code))
            throw error
        }
    }

    func record(_ request: Request, _ context: Context, status: Int) {
        guard let caller = context.caller else { return }
        let outcome: AuditEvent.Outcome = status < 400 ? .success : (status == 401 || status == 403 ? .denied : .failure)
        reads.record(
            tenantID: caller.tenantID, actor: context.auditActor, action: "api.read", targetType: "route",
            targetID: context.coreContext.endpointPath.value, outcome: outcome,
            details: ["method": .string(request.method.rawValue), "path": .string(String(request.uri.path.prefix(512))), "status": .int(status)])
    }
}
