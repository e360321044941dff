import JarvisAccess
@testable import JarvisHTTP
import Testing

@Suite struct RouteRulesTests {
    static let rules = try! RouteRules(text: """
        # comment
        GET  /documents      documents:read
        *    /documents      documents:write   # trailing comment
        POST /workflows/run  workflow:execute
        POST /workflows      workflow:create

        """)

    static func permission(_ method: String, _ uri: String) throws -> Permission? {
        rules.permission(for: try ForwardedRequest(method: method, uri: uri))
    }

    @Test func longestPrefixThenExactMethodWins() throws {
        #expect(try Self.permission("GET", "/documents/42?x=1") == "documents:read")
        #expect(try Self.permission("PUT", "/documents/42") == "documents:write")
        #expect(try Self.permission("POST", "/workflows/run/7") == "workflow:execute")
        #expect(try Self.permission("POST", "/workflows/other") == "workflow:create")
    }

    @Test func prefixesMatchWholeSegmentsAndUnknownRoutesAreDenied() throws {
        #expect(try Self.permission("GET", "/documentsx") == nil)
        #expect(try Self.permission("GET", "/other") == nil)
        #expect(try Self.permission("GET", "/") == nil)
    }

    @Test(arguments: [
        "GET /x", "GET x documents:read", "GET /x not-a-permission", "G3T /x a:b", "GET /a/../b a:b", "GET /a//b a:b", "GET /a;b a:b",
    ])
    func malformedRulesAreRefusedWithTheirLine(text: String) {
        #expect(throws: RouteRules.LoadError.self) { try RouteRules(text: "# ok\n" + text) }
    }
}
