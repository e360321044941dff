internal import Hummingbird
internal import Foundation
internal import JarvisStore
internal import Prometheus

/// Unauthenticated operational endpoints: liveness, readiness, metrics and the API contract.
struct SystemController {
    let services: AppServices
    let migrator: Migrator?
    let metrics: PrometheusCollectorRegistry
    let openAPI: [UInt8]?

    func addRoutes(to router: Router<JarvisRequestContext>) {
        router.get("healthz", use: health)
        router.get("readyz", use: ready)
        router.get("metrics", use: scrape)
        router.get("openapi.yaml", use: contract)
    }

    struct Status: ResponseEncodable, Sendable {
        let status: String
        let migrations: Int?
    }

    @Sendable func health(_ request: Request, context: JarvisRequestContext) async throws -> Status {
        Status(status: "ok", migrations: nil)
    }

    /// Ready when the database answers and every migration this build knows is applied.
    @Sendable func ready(_ request: Request, context: JarvisRequestContext) async throws -> Status {
        do {
            try await services.app.query("SELECT 1", idempotent: true)
            guard let migrator else { return Status(status: "ready", migrations: nil) }
            let status = try await migrator.status(services.platform)
            guard status.pending.isEmpty else {
                throw Problem(.serviceUnavailable, "not-ready", "migrations pending: \(status.pending.map(String.init).joined(separator: ", "))")
            }
            return Status(status: "ready", migrations: status.applied.count)
        } catch let problem as Problem {
            throw problem
        } catch StoreError.migration(let message) {
            throw Problem(.serviceUnavailable, "not-ready", message)
        } catch {
            throw Problem(.serviceUnavailable, "not-ready", "the database is unreachable", headers: [.retryAfter: "1"])
        }
    }

    @Sendable func scrape(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        var buffer: [UInt8] = []
        metrics.emit(into: &buffer)
        return Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: buffer)))
    }

    @Sendable func contract(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        guard let openAPI else { throw Problem.notFound("this server was started without its OpenAPI document") }
        return Response(
            status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
    }
}
