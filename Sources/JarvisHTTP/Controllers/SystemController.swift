internal import Hummingbird
internal import Foundation
internal import JarvisStore
internal import Prometheus

/// Unauthenticated operational endpoints: liveness, readiness, metrics and the API contract.
struct SystemController {
    let metrics: PrometheusCollectorRegistry
    let openAPI: [UInt8]?
    let probe: ReadinessProbe

    func addRoutes(to router: RecordingRouter) {
        router.get("healthz", use: health)
        // What load balancers and the deployment guides of many platforms probe by default.
        router.get("health", use: health)
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

    /// Ready when the database answers and every migration this build knows is applied; the answer
    /// comes within `ReadinessProbe.patience` whatever the database does.
    @Sendable func ready(_ request: Request, context: JarvisRequestContext) async throws -> Status {
        try await probe.status()
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
