internal import Hummingbird
internal import HTTPTypes
internal import Synchronization

/// Which methods each route answers, recorded as routes are added, so a known path asked with a
/// method it lacks is a 405 with `Allow` rather than a 404 (the router itself only knows "no match").
final class RouteMethods: Sendable {
    struct Route {
        /// Path segments; a capture (`{name}`, as the router writes `:name`) matches any one segment.
        let segments: [Substring]
        var methods: Set<HTTPRequest.Method>
    }

    // Locking rule: routes are added while the router is built and read afterwards, under this lock.
    private let routes = Mutex<[Route]>([])

    func record(_ path: String, _ method: HTTPRequest.Method) {
        let segments = path.split(separator: "/")
        routes.withLock { all in
            if let index = all.firstIndex(where: { $0.segments == segments }) {
                all[index].methods.insert(method)
            } else {
                all.append(Route(segments: segments, methods: [method]))
            }
        }
    }

    /// A capture (`{name}`) or `*` matches one segment, a final `**` one or more.
    static func matches(_ route: [Substring], _ asked: [Substring]) -> Bool {
        if route.last == "**" { return asked.count >= route.count && matches(Array(route.dropLast()), Array(asked.prefix(route.count - 1))) }
        return route.count == asked.count && zip(route, asked).allSatisfy { $0.first == "{" || $0.first == ":" || $0 == "*" || $0 == $1 }
    }

    /// The methods some route answers at `path`, as an `Allow` value; nil when no route has the path.
    func allow(for path: String) -> String? {
        let asked = path.split(separator: "/")
        let methods = routes.withLock { all in
            all.filter { route in Self.matches(route.segments, asked) }.reduce(into: Set<HTTPRequest.Method>()) { $0.formUnion($1.methods) }
        }
        guard !methods.isEmpty else { return nil }
        return methods.map(\.rawValue).sorted().joined(separator: ", ")
    }
}

/// The router's front door for adding routes: everything added through it (and through groups
/// made from it) is recorded in `methods`.
struct RecordingRouter: RouterMethods {
    typealias Context = JarvisRequestContext
    let router: Router<JarvisRequestContext>
    let methods: RouteMethods

    @discardableResult func on<Responder: HTTPResponder>(
        _ path: RouterPath, method: HTTPRequest.Method, responder: Responder
    ) -> Self where Responder.Context == JarvisRequestContext {
        methods.record(path.description, method)
        router.on(path, method: method, responder: responder)
        return self
    }

    @discardableResult func add(middleware: any MiddlewareProtocol<Request, Response, JarvisRequestContext>) -> Self {
        router.add(middleware: middleware)
        return self
    }
}
