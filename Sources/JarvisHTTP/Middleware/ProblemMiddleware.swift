internal import Hummingbird
internal import Logging
internal import JarvisStore
internal import Foundation

/// The outermost middleware: gives every request its id (the client's when sane, else the one
/// Hummingbird assigned), turns every error into problem+json, and writes one access-log line per
/// request — except on the hot path (`/v1/check`, `/v1/authz`), where tens of thousands of lines a
/// second would cost more than the answers; those are counted in `/metrics` instead.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = JarvisRequestContext
    /// The methods each route answers: a known path with another method is a 405, not a 404.
    let methods: RouteMethods

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.requestID = Self.requestID(from: request, assigned: context)
        let quiet = request.uri.path.hasPrefix("/v1/check") || request.uri.path.hasPrefix("/v1/authz")
        if !quiet {
            context.logger[metadataKey: "request_id"] = .string(context.requestID)
            context.traceSlot = TraceIDSlot()
        }
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
            response.headers[.requestID] = context.requestID
        } catch {
            var (problem, serverFault) = Problem.from(error)
            if problem.status == .notFound, context.coreContext.endpointPath.value == "NotFound", let allow = methods.allow(for: request.uri.path) {
                problem = Problem(
                    .methodNotAllowed, "method-not-allowed", "\(request.method.rawValue.prefix(16)) is not allowed here; use \(allow)",
                    headers: [.allow: allow])
            }
            if serverFault {
                var metadata: Logger.Metadata = ["error": "\(error)", "path": "\(request.uri.path)", "request_id": "\(context.requestID)"]
                if let trace = context.traceSlot?.traceID { metadata["trace_id"] = .string(trace) }
                context.logger.error("request failed", metadata: metadata)
            }
            response = problem.response(requestID: context.requestID, path: request.uri.path)
        }
        // The access line is built only when it will be written (LOG_LEVEL info or finer).
        if (quiet && response.status.code < 500) || context.logger.logLevel > .info { return response }
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
            "duration_ms": "\(milliseconds)", "request_id": "\(context.requestID)",
        ]
        // The trace the request's span was in (its own or the caller's), so a log line leads to its spans.
        if let trace = context.traceSlot?.traceID { metadata["trace_id"] = .string(trace) }
        context.logger.info("request", metadata: metadata)
        return response
    }

    /// A client's id is kept when it is short and plain; anything else is replaced by the id
    /// Hummingbird gave the request, so ids are safe to log and to echo.
    static func requestID(from request: Request, assigned context: JarvisRequestContext) -> String {
        if let given = request.headers[.requestID], isSane(given) { return given }
        return context.id
    }

    /// 1-128 characters of letters, digits, `-`, `_`, `.` and `:`.
    static func isSane(_ id: String) -> Bool {
        (1...128).contains(id.utf8.count)
            && id.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 || $0 == 46 || $0 == 58 }
    }
}
