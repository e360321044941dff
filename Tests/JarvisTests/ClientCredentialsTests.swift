import Foundation
import HTTPTypes
import Testing

@Suite struct ClientCredentialsTests {
    static func token(_ api: API, form: String, headers: HTTPFields = [:]) async throws -> APIResponse {
        var fields = headers
        fields[.contentType] = "application/x-www-form-urlencoded"
        return try await api.request(.post, "/v1/oauth/token", key: nil, body: form, headers: fields)
    }

    static func parts(_ key: String) -> (id: String, secret: String) {
        let pieces = key.split(separator: "_", maxSplits: 2)
        return (String(pieces[1]), String(pieces[2]))
    }

    @Test func aServiceAccountTradesItsKeyForAnAccessToken() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "cc")
            let (id, secret) = Self.parts(t.adminKey)
            let response = try await Self.token(api, form: "grant_type=client_credentials&client_id=\(id)&client_secret=\(secret)")
            #expect(response.status == .ok, "\(response.text)")
            #expect(response["token_type"] == "Bearer" && response.headers[.cacheControl] == "no-store")
            let token = try #require(response["access_token"])
            #expect(try await api.get("/v1/tenants/\(t.slug)/users", key: token).status == .ok)

            // HTTP Basic works too, with the whole key as the secret.
            let basic = Data("\(id):\(t.adminKey)".utf8).base64EncodedString()
            let viaBasic = try await Self.token(api, form: "grant_type=client_credentials", headers: [.authorization: "Basic \(basic)"])
            #expect(viaBasic.status == .ok, "\(viaBasic.text)")
        }
    }

    @Test func scopeNarrowsTheToken() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "scope")
            let (id, secret) = Self.parts(t.adminKey)
            let response = try await Self.token(api, form: "grant_type=client_credentials&client_id=\(id)&client_secret=\(secret)&scope=tenant:read+documents:read")
            #expect(response["scope"] == "documents:read tenant:read", "\(response.text)")
            let token = try #require(response["access_token"])
            #expect(try await api.get("/v1/tenants/\(t.slug)", key: token).status == .ok)
            try await api.get("/v1/tenants/\(t.slug)/users", key: token).expectProblem(.forbidden)
            // A narrowed token cannot mint an unnarrowed key for itself.
            try await api.post("/v1/tenants/\(t.slug)/api-keys", ["principal_id": t.adminID, "name": "escape"], key: token)
                .expectProblem(.forbidden)
            let me = try await api.get("/v1/me", key: token)
            #expect((me.json["permissions"] as? [String]) == ["documents:read", "tenant:read"])
        }
    }

    @Test func oauthErrorsFollowRFC6749() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "ccerr")
            let (id, secret) = Self.parts(t.adminKey)
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("client_id=\(id)&client_secret=\(secret)", .badRequest, "invalid_request"),
                ("grant_type=password&client_id=\(id)&client_secret=\(secret)", .badRequest, "unsupported_grant_type"),
                ("grant_type=client_credentials&client_id=\(id)&client_secret=\(String(secret.reversed()))", .unauthorized, "invalid_client"),
                ("grant_type=client_credentials&client_id=\(id)", .unauthorized, "invalid_client"),
                ("grant_type=client_credentials&client_id=\(id)&client_secret=\(secret)&scope=platform:tenants", .badRequest, "invalid_scope"),
                ("grant_type=client_credentials&client_id=\(id)&client_secret=\(secret)&scope=NOT%20A%20PERMISSION", .badRequest, "invalid_scope"),
                ("grant_type=client_credentials&grant_type=client_credentials&client_id=\(id)&client_secret=\(secret)", .badRequest, "invalid_request"),
            ]
            for (form, status, error) in cases {
                let response = try await Self.token(api, form: form)
                #expect(response.status == status, "\(form): \(response.text)")
                #expect(response["error"] == error, "\(form): \(response.text)")
                #expect(response.headers[.contentType] == "application/json")
            }
            let json = try await api.request(.post, "/v1/oauth/token", key: nil, body: #"{"grant_type":"client_credentials"}"#)
            #expect(json["error"] == "invalid_request")
        }
    }

    @Test func usersCannotUseClientCredentials() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "ccuser")
            let user = try await api.post("/v1/tenants/\(t.slug)/users", ["email": "u@\(t.slug).example"], key: t.adminKey)
            let key = try await api.post("/v1/tenants/\(t.slug)/api-keys", ["principal_id": try #require(user["id"]), "name": "k"], key: t.adminKey)
            let (id, secret) = Self.parts(try #require(key["key"]))
            let response = try await Self.token(api, form: "grant_type=client_credentials&client_id=\(id)&client_secret=\(secret)")
            #expect(response["error"] == "unauthorized_client", "\(response.text)")
        }
    }
}
