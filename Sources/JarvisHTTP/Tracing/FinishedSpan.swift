internal import JarvisJSON
internal import Tracing

/// A recorded span, ended, waiting for export.
public struct FinishedSpan: Sendable {
    let traceParent: TraceParent
    let parentSpanID: UInt64?
    let name: String
    let kind: SpanKind
    let start: UInt64
    let end: UInt64
    let attributes: SpanAttributes
    let status: SpanStatus?
    let events: [SpanEvent]
}

/// OTLP/HTTP's JSON encoding of spans (`ExportTraceServiceRequest`): ids in hex, times as decimal
/// strings of nanoseconds, enums as numbers.
enum OTLPJSON {
    static func request(_ spans: [FinishedSpan], resource: [String: String]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(spans.count * 512)
        out += Array(#"{"resourceSpans":[{"resource":{"attributes":["#.utf8)
        for (index, (key, value)) in resource.sorted(by: { $0.key < $1.key }).enumerated() {
            if index > 0 { out.append(44) }
            attribute(key, .string(value), to: &out)
        }
        out += Array(#"]},"scopeSpans":[{"scope":{"name":"jarvis"},"spans":["#.utf8)
        for (index, span) in spans.enumerated() {
            if index > 0 { out.append(44) }
            append(span, to: &out)
        }
        out += Array("]}]}]}".utf8)
        return out
    }

    private static func append(_ span: FinishedSpan, to out: inout [UInt8]) {
        out += Array(#"{"traceId":""#.utf8) + Array(span.traceParent.traceIDHex.utf8)
        out += Array(#"","spanId":""#.utf8) + Array(span.traceParent.spanIDHex.utf8) + [34]
        if let parent = span.parentSpanID { out += Array(#","parentSpanId":""#.utf8) + Array(TraceParent.hex(parent).utf8) + [34] }
        out += Array(#","name":"#.utf8)
        JSONWriter.appendString(span.name, to: &out)
        out += Array(#","kind":\#(kind(span.kind)),"startTimeUnixNano":"\#(span.start)","endTimeUnixNano":"\#(span.end)","attributes":"#.utf8)
        attributes(span.attributes, to: &out)
        if !span.events.isEmpty {
            out += Array(#","events":["#.utf8)
            for (index, event) in span.events.enumerated() {
                if index > 0 { out.append(44) }
                out += Array(#"{"timeUnixNano":"\#(event.nanosecondsSinceEpoch)","name":"#.utf8)
                JSONWriter.appendString(event.name, to: &out)
                out += Array(#","attributes":"#.utf8)
                attributes(event.attributes, to: &out)
                out.append(125)
            }
            out.append(93)
        }
        if let status = span.status {
            out += Array(#","status":{"code":\#(status.code == .ok ? 1 : 2)"#.utf8)
            if let message = status.message {
                out += Array(#","message":"#.utf8)
                JSONWriter.appendString(message, to: &out)
            }
            out.append(125)
        }
        out.append(125)
    }

    private static func kind(_ kind: SpanKind) -> Int {
        switch kind {
        case .internal: 1
        case .server: 2
        case .client: 3
        case .producer: 4
        case .consumer: 5
        }
    }

    private static func attributes(_ attributes: SpanAttributes, to out: inout [UInt8]) {
        out.append(91)
        var first = true
        attributes.forEach { key, value in
            if !first { out.append(44) }
            first = false
            attribute(key, value, to: &out)
        }
        out.append(93)
    }

    private static func attribute(_ key: String, _ value: SpanAttribute, to out: inout [UInt8]) {
        out += Array(#"{"key":"#.utf8)
        JSONWriter.appendString(key, to: &out)
        out += Array(#","value":"#.utf8)
        self.value(value, to: &out)
        out.append(125)
    }

    private static func value(_ value: SpanAttribute, to out: inout [UInt8]) {
        func array(_ items: [SpanAttribute]) {
            out += Array(#"{"arrayValue":{"values":["#.utf8)
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(44) }
                self.value(item, to: &out)
            }
            out += Array("]}}".utf8)
        }
        switch value {
        case .int32(let number): out += Array(#"{"intValue":"\#(number)"}"#.utf8)
        case .int64(let number): out += Array(#"{"intValue":"\#(number)"}"#.utf8)
        case .double(let number) where number.isFinite: out += Array(#"{"doubleValue":\#(number)}"#.utf8)
        case .bool(let flag): out += Array(#"{"boolValue":\#(flag)}"#.utf8)
        case .string(let text):
            out += Array(#"{"stringValue":"#.utf8)
            JSONWriter.appendString(text, to: &out)
            out.append(125)
        case .int32Array(let numbers): array(numbers.map { .int32($0) })
        case .int64Array(let numbers): array(numbers.map { .int64($0) })
        case .doubleArray(let numbers): array(numbers.map { .double($0) })
        case .boolArray(let flags): array(flags.map { .bool($0) })
        case .stringArray(let texts): array(texts.map { .string($0) })
        case .stringConvertibleArray(let items): array(items.map { .string($0.description) })
        default:
            out += Array(#"{"stringValue":"#.utf8)
            JSONWriter.appendString("\(value)", to: &out)
            out.append(125)
        }
    }
}
