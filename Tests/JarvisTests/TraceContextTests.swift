import Foundation
@testable import JarvisHTTP
import Testing
import Tracing

/// W3C Trace Context as the recommendation reads, and the tracer's parent-based sampling.
@Suite struct TraceContextTests {
    static let valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

    @Test func aValidTraceparentReadsAndWritesBack() throws {
        let parent = try #require(TraceParent(header: Self.valid))
        #expect(parent.traceIDHex == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(parent.spanIDHex == "00f067aa0ba902b7")
        #expect(parent.sampled)
        #expect(parent.header == Self.valid)
        #expect(TraceParent(header: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00")?.sampled == false)
        // A later version is read by its first four fields.
        #expect(TraceParent(header: "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra")?.header == Self.valid)
    }

    @Test func malformedTraceparentsAreIgnored() {
        for bad in [
            "", "00", Self.valid.uppercased(), Self.valid + "-", Self.valid.replacingOccurrences(of: "-01", with: "-1"),
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
        ] {
            #expect(TraceParent(header: bad) == nil, "\(bad)")
        }
    }

    @Test func spansFollowTheirParentsTraceAndSampling() throws {
        let exporter = SpanExporter(endpoint: "http://127.0.0.1:9/v1/traces", serviceName: "test")
        let tracer = JarvisTracer(exporter: exporter, sampleRatio: 0)
        var incoming = ServiceContext.topLevel
        incoming.traceParent = TraceParent(header: Self.valid)
        let server = tracer.startSpan("GET /x", context: incoming, ofKind: .server)
        let own = try #require(server.context.traceParent)
        #expect(own.traceIDHex == "4bf92f3577b34da6a3ce929d0e0e4736" && own.spanIDHex != "00f067aa0ba902b7" && own.sampled)
        #expect(server.isRecording)
        let child = tracer.startSpan("db.transaction", context: server.context, ofKind: .client)
        #expect(child.context.traceParent?.traceIDHex == own.traceIDHex && child.parentSpanID == own.spanID)

        // Unsampled parent: not recorded, ids still flow. No parent and ratio 0: a new trace, not recorded.
        incoming.traceParent?.sampled = false
        let quiet = tracer.startSpan("GET /y", context: incoming, ofKind: .server)
        #expect(!quiet.isRecording && quiet.context.traceParent?.traceIDHex == own.traceIDHex)
        let fresh = tracer.startSpan("GET /z", context: .topLevel, ofKind: .server)
        #expect(!fresh.isRecording && fresh.context.traceParent?.traceIDHex != own.traceIDHex)
        // Without an exporter nothing is ever recorded.
        #expect(!JarvisTracer(exporter: nil, sampleRatio: 1).startSpan("x", context: incoming, ofKind: .server).isRecording)

        // What goes to the collector: OTLP JSON with hex ids and the parent link.
        child.attributes["db.system"] = "postgresql"
        child.end()
        server.end()
        let body = OTLPJSON.request(
            [FinishedSpan(
                traceParent: try #require(child.context.traceParent), parentSpanID: own.spanID, name: "db.transaction", kind: .client,
                start: 1, end: 2, attributes: ["db.system": "postgresql", "n": 3], status: SpanStatus(code: .error), events: [])],
            resource: ["service.name": "test"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        let resourceSpans = try #require(json["resourceSpans"] as? [[String: Any]])
        let scope = try #require((resourceSpans.first?["scopeSpans"] as? [[String: Any]])?.first)
        let span = try #require((scope["spans"] as? [[String: Any]])?.first)
        #expect(span["traceId"] as? String == own.traceIDHex)
        #expect(span["parentSpanId"] as? String == own.spanIDHex)
        #expect(span["kind"] as? Int == 3 && span["startTimeUnixNano"] as? String == "1")
        #expect((span["status"] as? [String: Any])?["code"] as? Int == 2)
        let attributes = try #require(span["attributes"] as? [[String: Any]])
        #expect(attributes.contains { $0["key"] as? String == "n" && ($0["value"] as? [String: Any])?["intValue"] as? String == "3" })
    }
}
