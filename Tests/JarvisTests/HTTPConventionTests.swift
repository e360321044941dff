import Foundation
import HTTPTypes
import Testing

@Suite struct HTTPConventionTests {
    static let requestID = HTTPField.Name("X-Request-Id")!

    @Test func aSaneRequestIdIsEchoedAndAnyOtherReplaced() async throws {
        try await Fixture.withAPI { api in
            let echoed = try await api.request(.get, "/healthz", key: nil, headers: [Self.requestID: "abc-123.x:y_z"])
            #expect(echoed.headers[Self.requestID] == "abc-123.x:y_z")
            let replaced = try await api.request(.get, "/healthz", key: nil, headers: [Self.requestID: "evil\u{7f}\"id"])
            #expect(replaced.headers[Self.requestID] != nil)
            #expect(replaced.headers[Self.requestID] != "evil\u{7f}\"id")
            let generated = try await api.request(.get, "/healthz", key: nil)
            #expect(generated.headers[Self.requestID]?.count == 36)
        }
    }

    @Test func unknownRoutesAndMethodsAreProblemJSON() async throws {
        try await Fixture.withAPI { api in
            try await api.get("/v1/nothing-here").expectProblem(.notFound)
            try await api.get("/nothing").expectProblem(.notFound)
            try await api.request(.put, "/v1/tenants", key: api.adminKey, body: "{}").expectProblem(.notFound)
        }
    }

    @Test func oversizedAndDeeplyNestedBodiesAreRefused() async throws {
        try await Fixture.withAPI { api in
            let huge = #"{"slug":"x","name":""# + String(repeating: "a", count: 2 << 20) + #""}"#
            try await api.request(.post, "/v1/tenants", key: api.adminKey, body: huge).expectProblem(.contentTooLarge)
            let deep = String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000)
            try await api.request(.post, "/v1/tenants", key: api.adminKey, body: deep).expectProblem(.badRequest)
            let longName = try await api.post("/v1/tenants", ["slug": Fixture.uniqueSlug(), "name": String(repeating: "n", count: 201)])
            longName.expectProblem(.badRequest, code: "invalid-input")
        }
    }

    @Test func malformedIdsInPathsAre400() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "ids")
            try await api.get("/v1/tenants/\(t.slug)/users/not-a-uuid", key: t.adminKey).expectProblem(.badRequest)
            try await api.get("/v1/tenants/\(t.slug)/users/\(UUID().uuidString)", key: t.adminKey).expectProblem(.notFound)
        }
    }

    @Test func operationalEndpointsAnswer() async throws {
        try await Fixture.withAPI { api in
            #expect(try await api.request(.get, "/healthz", key: nil).status == .ok)
            let ready = try await api.request(.get, "/readyz", key: nil)
            #expect(ready.status == .ok && ready["status"] == "ready", "\(ready.text)")
            let contract = try await api.request(.get, "/openapi.yaml", key: nil)
            #expect(contract.status == .ok && contract.text.hasPrefix("openapi: 3.1"))
            _ = try await api.get("/v1/me")
            let metrics = try await api.request(.get, "/metrics", key: nil)
            #expect(metrics.status == .ok)
            #expect(metrics.text.contains("http_server_request_duration"))
            #expect(metrics.text.contains("jarvis_db_pool_connections_open"))
        }
    }
}
