import Foundation
import JarvisConfiguration
import HTTPTypes
import Testing

@testable import JarvisHTTP

/// `/v1/authz` decides on the path the upstream will serve, not on the text the client sent.
@Suite struct ForwardAuthTests {
    static let rules = Fixture.repositoryRoot + "/integration/http/authz-rules.txt"
    static let method = HTTPField.Name("X-Original-Method")!
    static let uri = HTTPField.Name("X-Original-URI")!

    @Test(arguments: [
        ("/documents/../chat/1", "/chat/1"), ("/documents/%2e%2e/chat/1", "/chat/1"), ("/documents/%2E%2e/chat/1", "/chat/1"),
        ("/workflows/./run", "/workflows/run"), ("/workflows//run", "/workflows/run"), ("/workflows/x/../run", "/workflows/run"),
        ("/workflows/%72un", "/workflows/run"), ("/workflows/run/", "/workflows/run"), ("/../../etc", "/etc"), ("/", "/"),
        ("/a/b?c=../../d#e", "/a/b"), ("http://host:8080/x/./y?z", "/x/y"), ("HTTPS://host", "/"),
        ("/caf%c3%a9/%7e", "/caf%C3%A9/~"), ("/a%20b", "/a%20b"), ("//", "/"), ("/a/b/../../..", "/"),
    ])
    func pathsAreNormalisedAsRFC3986Says(raw: String, normal: String) throws {
        #expect(try ForwardedRequest(method: "GET", uri: raw).path == normal)
    }

    @Test(arguments: [
        "/documents%2f..%2fchat", "/documents%2F1", "/a%5cb", "/a\\b", "/a;jsessionid=1/b", "/a%252e%252e/b", "/a%zz", "/a%4",
        "/a%00b", "documents/1", "", "*", "/a b", "/caf\u{e9}", "/a\u{7}b", String(repeating: "/a", count: 4097),
    ])
    func ambiguousPathsAreRefused(raw: String) {
        #expect(throws: ForwardedRequest.Refusal.self) { try ForwardedRequest(method: "GET", uri: raw) }
    }

    @Test(arguments: ["GGGGGGGGGGGGGGGGG", "get", "", "G E T", "GET\u{0}"])
    func malformedMethodsAreRefused(method: String) {
        #expect(throws: ForwardedRequest.Refusal.self) { try ForwardedRequest(method: method, uri: "/documents/1") }
    }

    /// The attacks found from outside: a principal allowed documents:read but not chat or workflows
    /// must not reach them by dressing the path up.
    @Test func dressedUpPathsDoNotGetPastTheRules() async throws {
        try await Fixture.withCustomServer({ $0.authzRulesPath = Self.rules }) { api, _ in
            let t = try await api.seedTenant(prefix: "fwd")
            let base = "/v1/tenants/\(t.slug)"
            #expect(try await api.post("\(base)/roles", ["name": "doc_reader", "permissions": ["documents:read"]], key: t.adminKey).status == .created)
            let (_, key) = try await api.principal(in: t, role: "doc_reader")
            func forward(_ method: String, _ uri: String) async throws -> APIResponse {
                try await api.request(.get, "/v1/authz", key: key, headers: [Self.method: method, Self.uri: uri])
            }
            #expect(try await forward("GET", "/documents/1").status == .ok)
            #expect(try await forward("GET", "/documents/1?next=/chat/1").status == .ok)
            for uri in ["/documents/../chat/1", "/documents/%2e%2e/chat/1", "/documents/./../chat/1"] {
                try await forward("GET", uri).expectProblem(.forbidden)
            }
            for uri in ["/workflows/./run", "/workflows//run", "/workflows/x/../run", "/workflows/%72un"] {
                try await forward("POST", uri).expectProblem(.forbidden)
            }
            for uri in ["/documents/..%2fchat/1", "/documents;x/../chat", String(repeating: "/d", count: 5000)] {
                try await forward("GET", uri).expectProblem(.badRequest, code: "invalid-forwarded-request")
            }
            try await forward("GGGGGGGGGGGGGGGGG", "/documents/1").expectProblem(.badRequest, code: "invalid-forwarded-request")
            // Envoy's form carries the path in the request line.
            try await api.request(.post, "/v1/authz/workflows/./run", key: key).expectProblem(.forbidden)
            try await api.request(.get, "/v1/authz/documents/../chat/1", key: key).expectProblem(.forbidden)
            #expect(try await api.request(.get, "/v1/authz/documents/./1", key: key).status == .ok)
        }
    }
}
