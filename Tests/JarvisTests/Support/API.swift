import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing

/// A response with its JSON already parsed.
struct APIResponse: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String

    var json: [String: any Sendable] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: any Sendable] ?? [:]
    }

    subscript(_ key: String) -> String? { json[key] as? String }

    var items: [[String: any Sendable]] { json["items"] as? [[String: any Sendable]] ?? [] }

    /// Problem responses must be problem+json with the request id and a stable type.
    func expectProblem(_ status: HTTPResponse.Status, code: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(self.status == status, "\(text)", sourceLocation: sourceLocation)
        #expect(headers[.contentType] == "application/problem+json", sourceLocation: sourceLocation)
        #expect((json["request_id"] as? String) == headers[HTTPField.Name("X-Request-Id")!], sourceLocation: sourceLocation)
        #expect((json["type"] as? String)?.hasPrefix("urn:jarvis:problem:") == true, sourceLocation: sourceLocation)
        if let code { #expect(self["code"] == code, "\(text)", sourceLocation: sourceLocation) }
    }
}

/// Drives the router as a client would, with a bearer credential.
struct API: Sendable {
    let client: any TestClientProtocol
    let adminKey: String

    func request(
        _ method: HTTPRequest.Method, _ path: String, key: String?, body: String? = nil, headers extra: HTTPFields = [:]
    ) async throws -> APIResponse {
        var headers = extra
        if let key { headers[.authorization] = "Bearer \(key)" }
        if body != nil, headers[.contentType] == nil { headers[.contentType] = "application/json" }
        return try await client.execute(
            uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }
        ) { response in
            APIResponse(status: response.status, headers: response.headers, text: String(buffer: response.body))
        }
    }

    func get(_ path: String, key: String? = nil) async throws -> APIResponse {
        try await request(.get, path, key: key ?? adminKey)
    }

    func post(_ path: String, _ json: [String: any Sendable], key: String? = nil) async throws -> APIResponse {
        try await request(.post, path, key: key ?? adminKey, body: Self.encode(json))
    }

    /// A POST with no credential at all (login, refresh, logout).
    func postAnonymous(_ path: String, _ json: [String: any Sendable]) async throws -> APIResponse {
        try await request(.post, path, key: nil, body: Self.encode(json))
    }

    func patch(_ path: String, _ json: [String: any Sendable], key: String? = nil) async throws -> APIResponse {
        try await request(.patch, path, key: key ?? adminKey, body: Self.encode(json))
    }

    func delete(_ path: String, key: String? = nil) async throws -> APIResponse {
        try await request(.delete, path, key: key ?? adminKey)
    }

    static func encode(_ json: [String: any Sendable]) -> String {
        String(decoding: try! JSONSerialization.data(withJSONObject: json), as: UTF8.self)
    }

    /// A tenant with a tenant-admin service account and its key: what most tests start from.
    struct Seeded: Sendable {
        let tenantID: String
        let slug: String
        let adminID: String
        let adminKey: String
    }

    func seedTenant(prefix: String = "t") async throws -> Seeded {
        let slug = Fixture.uniqueSlug(prefix)
        let tenant = try await post("/v1/tenants", ["slug": slug, "name": "Tenant \(slug)"])
        try #require(tenant.status == .created, "\(tenant.text)")
        let tenantID = try #require(tenant["id"])
        let account = try await post("/v1/tenants/\(slug)/service-accounts", ["name": "admin"])
        try #require(account.status == .created, "\(account.text)")
        let adminID = try #require(account["id"])
        let binding = try await post("/v1/tenants/\(slug)/role-bindings", ["principal_id": adminID, "role": "tenant_admin"])
        try #require(binding.status == .created, "\(binding.text)")
        let key = try await post("/v1/tenants/\(slug)/api-keys", ["principal_id": adminID, "name": "admin key"])
        try #require(key.status == .created, "\(key.text)")
        return Seeded(tenantID: tenantID, slug: slug, adminID: adminID, adminKey: try #require(key["key"]))
    }

    /// A principal with one role and a key, in a seeded tenant.
    func principal(in tenant: Seeded, role: String?, name: String = UUID().uuidString) async throws -> (id: String, key: String) {
        let account = try await post("/v1/tenants/\(tenant.slug)/service-accounts", ["name": name], key: tenant.adminKey)
        let id = try #require(account["id"], "\(account.text)")
        if let role {
            let binding = try await post("/v1/tenants/\(tenant.slug)/role-bindings", ["principal_id": id, "role": role])
            try #require(binding.status == .created, "\(binding.text)")
        }
        let key = try await post("/v1/tenants/\(tenant.slug)/api-keys", ["principal_id": id, "name": "k"])
        return (id, try #require(key["key"], "\(key.text)"))
    }
}
