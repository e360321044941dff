internal import Hummingbird
internal import HTTPTypes
internal import JarvisIdentity
internal import Metrics
internal import Synchronization

/// Serves `/v1/check` and `/v1/authz` before the router: no route lookup, no per-request metric
/// lookups, no access log line, a counter-based request id. Everything else goes to the router.
/// These routes answer from memory, so the generic middleware would be most of their cost.
struct HotPathResponder<Inner: HTTPResponder>: HTTPResponder where Inner.Context == JarvisRequestContext {
    typealias Context = JarvisRequestContext
    let inner: Inner
    let authenticator: Authenticator
    let check: CheckController
    let authz: AuthzController
    let counters: Counters

    /// Made once: creating a metric per request costs a registry lookup.
    struct Counters: Sendable {
        let checkOK = Counter(label: "jarvis_hot_path_requests_total", dimensions: [("route", "check"), ("result", "ok")])
        let checkError = Counter(label: "jarvis_hot_path_requests_total", dimensions: [("route", "check"), ("result", "error")])
        let authzAllowed = Counter(label: "jarvis_hot_path_requests_total", dimensions: [("route", "authz"), ("result", "allowed")])
        let authzRefused = Counter(label: "jarvis_hot_path_requests_total", dimensions: [("route", "authz"), ("result", "refused")])
    }

    static var envoyMethods: Set<HTTPRequest.Method> { [.get, .post, .put, .patch, .delete, .head, .options] }

    func respond(to request: Request, context: Context) async throws -> Response {
        let path = request.uri.path
        let isCheck = path == "/v1/check"
        let isAuthz = path == "/v1/authz"
        let isEnvoy = !isCheck && !isAuthz && path.hasPrefix("/v1/authz/")
        guard isCheck || isAuthz || isEnvoy else { return try await inner.respond(to: request, context: context) }
        var context = context
        context.requestID = RequestIDs.next(given: request.headers[.requestID])
        var response: Response
        do {
            if isCheck {
                guard request.method == .post else { throw Self.methodNotAllowed(request, allow: "POST") }
                context.caller = try await authenticator.authenticate(authorization: request.headers[.authorization])
                response = try await check.check(request, context: context)
                counters.checkOK.increment()
            } else {
                guard isAuthz ? request.method == .get : Self.envoyMethods.contains(request.method) else {
                    throw Self.methodNotAllowed(request, allow: isAuthz ? "GET" : "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT")
                }
                response = try await isAuthz ? authz.forwardAuth(request, context: context) : authz.envoy(request, context: context)
                counters.authzAllowed.increment()
            }
        } catch {
            (isCheck ? counters.checkError : counters.authzRefused).increment()
            let (problem, _) = Problem.from(error)
            response = problem.response(requestID: context.requestID, path: path)
        }
        response.headers[.requestID] = context.requestID
        return response
    }
}

extension HotPathResponder {
    static func methodNotAllowed(_ request: Request, allow: String) -> Problem {
        Problem(.methodNotAllowed, "method-not-allowed", "\(request.method.rawValue.prefix(16)) is not allowed here; use \(allow)", headers: [.allow: allow])
    }
}

/// Request ids for the hot path: the client's when it sent a sane one, else a per-process random
/// prefix and a counter — unique without a random draw per request.
enum RequestIDs {
    private static let counter = Atomic<UInt64>(0)
    private static let prefix: String = {
        var generator = SystemRandomNumberGenerator()
        return String(generator.next() as UInt64, radix: 16)
    }()

    static func next(given: String?) -> String {
        if let given, ProblemMiddleware.isSane(given) { return given }
        let value = counter.wrappingAdd(1, ordering: .relaxed).newValue
        return prefix + "-" + String(value, radix: 16)
    }
}
