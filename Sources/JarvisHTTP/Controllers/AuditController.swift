internal import Hummingbird
internal import JarvisAccess
internal import Foundation
internal import JarvisAudit
internal import JarvisStore

/// `GET /v1/tenants/{tenant}/audit-events`: newest first, filtered by action, actor and time.
struct AuditController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(use: list)
    }

    @Sendable func list(_ request: Request, context: JarvisRequestContext) async throws -> Page<AuditEventBody> {
        let scope = try await services.scope(context, permission: "audit:read")
        let page = try PageRequest(request)
        let query = request.uri.queryParameters
        var filter = AuditLog.Filter(before: page.after, limit: page.limit)
        if let action = query["action"] {
            guard (1...100).contains(action.unicodeScalars.count) else { throw Problem.invalid("action: must be 1-100 characters") }
            filter.action = String(action)
        }
        filter.actorID = try request.uuidQuery("actor_id")
        filter.since = try Self.time(query["since"], name: "since")
        filter.until = try Self.time(query["until"], name: "until")
        let rows = try await services.app.withTenant(scope.tenantID) { [filter] tx in
            try await AuditLog.list(tx, tenantID: scope.tenantID, filter: filter)
        }
        return Page(rows: rows, limit: page.limit, id: \.id, map: AuditEventBody.init)
    }

    static func time(_ text: Substring?, name: String) throws -> Date? {
        guard let text else { return nil }
        guard let date = Timestamp.parse(text) else { throw Problem.invalid("\(name): must be an RFC 3339 time") }
        return date
    }
}
