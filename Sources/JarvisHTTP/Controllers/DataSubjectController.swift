internal import Hummingbird
internal import JarvisAccess
internal import JarvisIdentity
internal import NIOCore
internal import Foundation

/// Data-subject rights for a tenant's users (`privacy:admin`, held by tenant admins):
/// `GET …/users/{id}/data-export` — everything held about the user, as one JSON document;
/// `POST …/users/{id}/erase` — their personal data erased, the audit chain left verifying.
struct DataSubjectController {
    let services: AppServices

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get(":id/data-export", use: export)
        group.post(":id/erase", use: erase)
    }

    @Sendable func export(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "privacy:admin")
        let document = try await services.dataSubjects.export(try context.uuidParameter("id"), in: scope)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: document)))
    }

    @Sendable func erase(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let scope = try await services.scope(context, permission: "privacy:admin")
        let erasure = try await services.dataSubjects.erase(try context.uuidParameter("id"), in: scope)
        let body = try JSONCoding.encoder.encode(erasure)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}
