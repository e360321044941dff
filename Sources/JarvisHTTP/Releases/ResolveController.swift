internal import Hummingbird
internal import HTTPTypes
internal import Foundation
internal import JarvisAccess
internal import JarvisIdentity
internal import JarvisReleases
internal import JarvisStore
internal import NIOCore
internal import JarvisJSON

/// `/v1/resolve/...`: which prompt version, model version and flag values a subject gets, for the
/// caller's tenant, answered from the resolver's memory. On the hot path: it authenticates its
/// caller itself, and the answers are bytes prepared when the tenant's releases were loaded.
struct ResolveController {
    let authenticator: Authenticator
    let releases: ReleaseServices

    static let maxName = 100
    static let maxSubject = 256
    /// A long poll is held at most this long: under the idle timeouts of common proxies (30-60 s).
    static let maxWait = 25

    func addRoutes(to group: RouterGroup<JarvisRequestContext>) {
        group.get("prompts/:name", use: prompt)
        group.get("models/:name", use: model)
        group.post("flags", use: flags)
        group.get("changes", use: changes)
    }

    @Sendable func prompt(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let caller = try await authenticate(request, "prompt:read")
        let query = request.uri.queryParameters
        let (name, label, subject) = try Self.target(context, request)
        guard let answer = try await releases.resolver.resolve(.prompt, name, label: label, subject: subject, tenantID: caller.tenantID) else {
            throw Problem.notFound("no label '\(label)' on prompt '\(name)'")
        }
        // Rendering: `var.<name>=value` for each variable, or `render=true` for the defaults alone.
        var values: [String: String] = [:]
        for (key, value) in query where key.hasPrefix("var.") {
            // Hummingbird decodes values, not keys.
            let variable = String(key.dropFirst(4))
            values[variable.removingPercentEncoding ?? variable] = String(value)
        }
        if !values.isEmpty || query["render"] == "true" {
            let rendered = try answer.rendered(values)
            return Self.respond(request, body: rendered.body, etag: rendered.etag)
        }
        return Self.respond(request, body: answer.body, etag: answer.etag)
    }

    @Sendable func model(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let caller = try await authenticate(request, "model:read")
        let (name, label, subject) = try Self.target(context, request)
        guard let answer = try await releases.resolver.resolve(.model, name, label: label, subject: subject, tenantID: caller.tenantID) else {
            throw Problem.notFound("no label '\(label)' on model '\(name)'")
        }
        return Self.respond(request, body: answer.body, etag: answer.etag)
    }

    @Sendable func flags(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let caller = try await authenticate(request, "flag:read")
        let bytes = try await request.body.collect(upTo: 64 * 1024)
        let ask: FlagsRequest
        do {
            ask = try FlagsRequest.parse(Array(bytes.readableBytesView))
        } catch .invalid(let message) {
            throw Problem.invalid(message)
        }
        // Without a principal named, the subject is the caller: its id and roles decide.
        let principal = ask.principalID ?? (ask.roles == nil ? caller.principalID : nil)
        let subject = FeatureFlag.Subject(
            key: ask.subject ?? principal?.lowercasedString ?? caller.principalIDText, principalID: principal,
            roles: ask.roles ?? (ask.principalID == nil ? caller.roles : []), attributes: ask.attributes)
        let values = try await releases.resolver.flags(for: subject, keys: ask.keys, tenantID: caller.tenantID)
        var out: [UInt8] = #"{"subject":"#.utf8 + []
        JSONWriter.appendString(subject.key, to: &out)
        out += #","flags":{"#.utf8
        for (index, entry) in values.enumerated() {
            if index > 0 { out.append(44) }
            JSONWriter.appendString(entry.key, to: &out)
            out += #":{"value":"#.utf8
            JSONWriter.appendString(entry.value, to: &out)
            if let rule = entry.rule {
                out += #","rule":"#.utf8
                out += String(rule).utf8
            }
            out.append(125)
        }
        out += "}}".utf8
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    @Sendable func changes(_ request: Request, context: JarvisRequestContext) async throws -> Response {
        let caller = try await authenticator.authenticate(authorization: request.headers[.authorization])
        guard caller.allows("prompt:read") || caller.allows("model:read") || caller.allows("flag:read") else {
            throw AccessError.forbidden("prompt:read")
        }
        let query = request.uri.queryParameters
        var since: Int64?
        if let text = query["since"] {
            guard let value = Int64(text), value >= 0 else { throw Problem.invalid("since: the cursor of an earlier answer (a whole number ≥ 0)") }
            since = value
        }
        var wait = Self.maxWait
        if let text = query["wait"] {
            guard let value = Int(text), (0...Self.maxWait).contains(value) else { throw Problem.invalid("wait: whole seconds from 0 to \(Self.maxWait)") }
            wait = value
        }
        let answer = try await releases.changes.changes(tenantID: caller.tenantID, since: since, wait: .seconds(wait))
        var out: [UInt8] = #"{"cursor":"#.utf8 + []
        out += String(answer.cursor).utf8
        out += #","changes":["#.utf8
        for (index, change) in answer.changes.enumerated() {
            if index > 0 { out.append(44) }
            out += #"{"seq":"#.utf8
            out += String(change.seq).utf8
            out += #","kind":"#.utf8
            JSONWriter.appendString(change.kind, to: &out)
            out += #","operation":"#.utf8
            JSONWriter.appendString(change.operation, to: &out)
            out += #","at":"#.utf8
            JSONWriter.appendString(change.at.formatted(.iso8601), to: &out)
            out.append(125)
        }
        out += "]}".utf8
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
    }

    func authenticate(_ request: Request, _ permission: Permission) async throws -> Caller {
        let caller = try await authenticator.authenticate(authorization: request.headers[.authorization])
        guard caller.allows(permission) else { throw AccessError.forbidden(permission) }
        return caller
    }

    static func target(_ context: JarvisRequestContext, _ request: Request) throws -> (name: String, label: String, subject: String?) {
        let query = request.uri.queryParameters
        let name = try context.parameters.require("name")
        guard name.unicodeScalars.count <= maxName else { throw Problem.invalid("name: at most \(maxName) characters") }
        let label = query["label"].map(String.init) ?? "production"
        guard !label.isEmpty, label.unicodeScalars.count <= maxName else { throw Problem.invalid("label: 1-\(maxName) characters") }
        let subject = query["subject"].map(String.init)
        if let subject, subject.isEmpty || subject.unicodeScalars.count > maxSubject {
            throw Problem.invalid("subject: 1-\(maxSubject) characters")
        }
        return (name, label, subject)
    }

    /// The prepared body, or 304 when the client already holds it. Clients revalidate every time
    /// (`no-cache`): a moved label is never served from a cache.
    static func respond(_ request: Request, body: [UInt8], etag: String) -> Response {
        var headers: HTTPFields = [.eTag: etag, .cacheControl: "no-cache"]
        if let held = request.headers[.ifNoneMatch], matches(held, etag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// `If-None-Match` holds `*` or a list of tags, weak or strong (compared weakly, as RFC 9110 says).
    static func matches(_ header: String, _ etag: String) -> Bool {
        header.split(separator: ",").contains { item in
            let tag = item.trimmingCharacters(in: .whitespaces)
            return tag == "*" || tag == etag || (tag.hasPrefix("W/") && tag.dropFirst(2) == etag)
        }
    }
}
