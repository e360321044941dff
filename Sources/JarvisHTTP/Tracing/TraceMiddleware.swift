internal import Hummingbird
internal import HTTPTypes
internal import Logging
internal import Tracing
internal import Synchronization

/// A server span per request, child of the incoming `traceparent` (if any), named by its route and
/// ended with its status — the status the client gets, as `ProblemMiddleware` will map a thrown
/// error — and the trace id in the request's log lines. Database transactions inside become its
/// children. Not on the hot path (`/v1/check`, `/v1/authz`, `/v1/resolve`): a span there would cost
/// more than the decision it describes.
struct TraceMiddleware: RouterMiddleware {
    typealias Context = JarvisRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var incoming = ServiceContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &incoming, using: HTTPHeadersExtractor())
        let span = InstrumentationSystem.tracer.startAnySpan("HTTP \(request.method.rawValue)", context: incoming, ofKind: .server)
        var context = context
        if let trace = span.context.traceParent {
            context.logger[metadataKey: "trace_id"] = .string(trace.traceIDHex)
            context.traceSlot?.store(trace.traceIDHex)
        }
        if span.isRecording {
            span.attributes["http.request.method"] = request.method.rawValue
            span.attributes["url.path"] = request.uri.path
            span.attributes["user_agent.original"] = request.headers[.userAgent]
        }
        do {
            let response = try await ServiceContext.$current.withValue(span.context) { try await next(request, context) }
            finish(span, status: Int(response.status.code), context: context)
            return response
        } catch {
            let status = Int(Problem.from(error).0.status.code)
            if status >= 500 { span.recordError(error) }
            finish(span, status: status, context: context)
            throw error
        }
    }

    private func finish(_ span: any Tracing.Span, status: Int, context: Context) {
        if let route = context.endpointPath { span.operationName = route }
        if span.isRecording {
            span.attributes["http.route"] = context.endpointPath
            span.attributes["http.response.status_code"] = status
            if status >= 500 { span.setStatus(SpanStatus(code: .error)) }
        }
        span.end()
    }
}

/// The trace id a request's span was given, for the log line `ProblemMiddleware` writes once the
/// request is answered: contexts are values passed inward, so the span's id cannot flow back out
/// in one. Made only for requests that are logged (never on the hot path).
final class TraceIDSlot: Sendable {
    // Locking rule: read and written alone.
    private let value = Mutex<String?>(nil)

    func store(_ traceID: String) { value.withLock { $0 = traceID } }
    var traceID: String? { value.withLock { $0 } }
}

/// Reads `traceparent`/`tracestate` from request headers.
struct HTTPHeadersExtractor: Extractor {
    func extract(key: String, from headers: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { headers[$0] }
    }
}
