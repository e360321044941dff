import JarvisAccess
import JarvisHTTP
import Testing

@Suite struct RouteRulesTests {
    static let rules = try! RouteRules(text: """
        # comment
        GET  /documents      documents:read
        *    /documents      documents:write   # trailing comment
        POST /workflows/run  workflow:execute
        POST /workflows      workflow:create

        """)

    @Test func longestPrefixThenExactMethodWins() {
        #expect(Self.rules.permission(method: "GET", uri: "/documents/42?x=1") == "documents:read")
        #expect(Self.rules.permission(method: "put", uri: "/documents/42") == "documents:write")
        #expect(Self.rules.permission(method: "POST", uri: "/workflows/run/7") == "workflow:execute")
        #expect(Self.rules.permission(method: "POST", uri: "/workflows/other") == "workflow:create")
    }

    @Test func prefixesMatchWholeSegmentsAndUnknownRoutesAreDenied() {
        #expect(Self.rules.permission(method: "GET", uri: "/documentsx") == nil)
        #expect(Self.rules.permission(method: "GET", uri: "/other") == nil)
        #expect(Self.rules.permission(method: "GET", uri: "") == nil)
    }

    @Test(arguments: ["GET /x", "GET x documents:read", "GET /x not-a-permission", "G3T /x a:b"])
    func malformedRulesAreRefusedWithTheirLine(text: String) {
        #expect(throws: RouteRules.LoadError.self) { try RouteRules(text: "# ok\n" + text) }
    }
}
