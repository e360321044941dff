internal import Foundation
internal import JarvisAccess

/// Which permission a proxied request needs, from a small rules file (one rule a line):
///
/// ```
/// # method  path-prefix   permission
/// GET       /documents    documents:read
/// *         /documents    documents:write
/// POST      /chat         chat:create
/// ```
///
/// The longest matching prefix wins, and a rule for the exact method beats `*`. A prefix matches
/// whole path segments (`/doc` does not match `/documents`) of the normalised path (see
/// `ForwardedRequest`); the query never takes part. No match: denied.
public struct RouteRules: Sendable {
    struct Rule: Sendable {
        let method: String
        let prefix: String
        let permission: Permission
    }

    let rules: [Rule]

    public enum LoadError: Error, CustomStringConvertible {
        case unreadable(String)
        case invalid(line: Int, String)

        public var description: String {
            switch self {
            case .unreadable(let path): return "cannot read route rules \(path)"
            case .invalid(let line, let reason): return "route rules line \(line): \(reason)"
            }
        }
    }

    public init(text: String) throws(LoadError) {
        var rules: [Rule] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.isEmpty { continue }
            guard fields.count == 3 else { throw .invalid(line: number + 1, "expected: METHOD PATH-PREFIX PERMISSION") }
            let method = fields[0].uppercased()
            guard method == "*" || method.allSatisfy({ $0.isLetter }) else { throw .invalid(line: number + 1, "bad method \(fields[0])") }
            // Prefixes are compared with normalised paths, so they must be normal themselves.
            guard let normal = try? ForwardedRequest.normalise(String(fields[1])), normal == String(fields[1]) || normal + "/" == String(fields[1]) else {
                throw .invalid(line: number + 1, "the path prefix must be a normalised path starting with / (no '.', '..', '//', ';' or escapes of unreserved characters)")
            }
            guard let permission = Permission(validating: String(fields[2])) else {
                throw .invalid(line: number + 1, "bad permission \(fields[2])")
            }
            var prefix = String(fields[1])
            while prefix.count > 1 && prefix.hasSuffix("/") { prefix.removeLast() }
            rules.append(Rule(method: method, prefix: prefix, permission: permission))
        }
        // Most specific first: longer prefixes, then exact methods before `*`.
        self.rules = rules.sorted { a, b in
            a.prefix.count != b.prefix.count ? a.prefix.count > b.prefix.count : (a.method != "*" && b.method == "*")
        }
    }

    public static func load(path: String) throws(LoadError) -> RouteRules {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
        return try RouteRules(text: String(decoding: data, as: UTF8.self))
    }

    /// The permission the request needs, or nil when no rule covers it. The request's path is
    /// already normalised (`ForwardedRequest`), so a rule sees what the upstream will serve.
    func permission(for request: ForwardedRequest) -> Permission? {
        let path = request.path
        for rule in rules where rule.method == "*" || rule.method == request.method {
            if rule.prefix == "/" || path == rule.prefix || path.hasPrefix(rule.prefix + "/") { return rule.permission }
        }
        return nil
    }

    public static let empty = RouteRules(rules: [])
    init(rules: [Rule]) { self.rules = rules }
}
