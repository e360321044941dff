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
            // Otherwise the id Hummingbird gave the request (a random 128-bit number in hex, without
            // leading zeros: up to 32 digits), the same in body and logs.
            let generated = try await api.request(.get, "/healthz", key: nil)
            let id = try #require(generated.headers[Self.requestID])
            #expect((16...32).contains(id.count) && id.allSatisfy(\.isHexDigit), "\(id)")
        }
    }

    @Test func unknownRoutesAre404AndUnsupportedMethods405WithAllow() async throws {
        try await Fixture.withAPI { api in
            try await api.get("/v1/nothing-here").expectProblem(.notFound)
            try await api.get("/nothing").expectProblem(.notFound)
            let put = try await api.request(.put, "/v1/tenants", key: api.adminKey, body: "{}")
            put.expectProblem(.methodNotAllowed, code: "method-not-allowed")
            #expect(put.headers[.allow] == "GET, POST")
            let trace = try await api.request(.trace, "/healthz", key: nil)
            trace.expectProblem(.methodNotAllowed)
            #expect(trace.headers[.allow] == "GET")
            let t = try await api.seedTenant(prefix: "allow")
            let user = try await api.request(.delete, "/v1/tenants/\(t.slug)/users/\(UUID().uuidString)", key: t.adminKey)
            #expect(user.status == .methodNotAllowed, "\(user.text)")
            #expect(user.headers[.allow] == "GET, PATCH")
            let check = try await api.request(.get, "/v1/check", key: api.adminKey)
            check.expectProblem(.methodNotAllowed)
            #expect(check.headers[.allow] == "POST")
            #expect(try await api.request(.put, "/v1/authz", key: api.adminKey).headers[.allow] == "GET")
        }
    }

    /// Lengths are counted as JSON Schema counts them, in code points: 201 combining marks on
    /// one letter are one grapheme but 202 characters, over a 200 limit.
    @Test func lengthsAreCodePointsAndWholeNumbersMayBeWrittenWithAFraction() async throws {
        try await Fixture.withAPI { api in
            let t = try await api.seedTenant(prefix: "len")
            let zalgo = "a" + String(repeating: "\u{301}", count: 201)
            #expect(zalgo.count == 1 && zalgo.unicodeScalars.count == 202)
            try await api.post("/v1/tenants/\(t.slug)/service-accounts", ["name": zalgo], key: t.adminKey).expectProblem(.badRequest)
            let fits = "a" + String(repeating: "\u{301}", count: 150)
            #expect(try await api.post("/v1/tenants/\(t.slug)/service-accounts", ["name": fits], key: t.adminKey).status == .created)
            // 1.0 is an integer to JSON Schema; 1.5 is not.
            let usage = #"{"idempotency_key":"k-\#(UUID().uuidString)","model":"m","input_tokens":1.0,"output_tokens":2e1,"status":"success"}"#
            let accepted = try await api.request(.post, "/v1/usage", key: t.adminKey, body: usage)
            #expect(accepted.status == .ok, "\(accepted.text)")
            let fraction = #"{"idempotency_key":"k2","model":"m","input_tokens":1.5,"output_tokens":2,"status":"success"}"#
            try await api.request(.post, "/v1/usage", key: t.adminKey, body: fraction).expectProblem(.badRequest)
            // A permission longer than the contract's 128 characters is bad input, not a denial.
            let long = String(repeating: "p", count: 120) + ":" + String(repeating: "r", count: 20)
            try await api.post("/v1/check", ["credential": t.adminKey, "permission": long]).expectProblem(.badRequest)
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
            // Sub-millisecond buckets: the hot path answers in microseconds.
            #expect(metrics.text.contains(#"http_server_request_duration_bucket{http_route="/v1/me",http_request_method="GET",http_response_status_code="200",le="0.00005"}"#), "\(metrics.text)")
            #expect(metrics.text.contains("jarvis_db_pool_connections_open"))
        }
    }
}
