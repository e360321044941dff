public import Tracing

/// A W3C Trace Context `traceparent`: `00-<trace id, 32 hex>-<parent span id, 16 hex>-<flags, 2 hex>`.
///
/// Parsed as the recommendation says: lowercase hex only, ids not all zero, version `ff` invalid;
/// a later version is read by its first four fields. Anything else is ignored (a new trace starts),
/// never an error for the request.
public struct TraceParent: Sendable, Equatable {
    public var traceID: (high: UInt64, low: UInt64)
    public var spanID: UInt64
    public var sampled: Bool

    public init(traceID: (high: UInt64, low: UInt64), spanID: UInt64, sampled: Bool) {
        self.traceID = traceID
        self.spanID = spanID
        self.sampled = sampled
    }

    public static func == (a: TraceParent, b: TraceParent) -> Bool {
        a.traceID == b.traceID && a.spanID == b.spanID && a.sampled == b.sampled
    }

    public init?(header: String) {
        let bytes = Array(header.utf8)
        guard bytes.count >= 55, bytes[2] == UInt8(ascii: "-"), bytes[35] == UInt8(ascii: "-"), bytes[52] == UInt8(ascii: "-"),
              let version = Self.hex(bytes[0..<2]), version != 0xff,
              let high = Self.hex(bytes[3..<19]), let low = Self.hex(bytes[19..<35]),
              let span = Self.hex(bytes[36..<52]), let flags = Self.hex(bytes[53..<55])
        else { return nil }
        // Version 00 is exactly 55 characters; a later one may add fields after a dash.
        guard version == 0 ? bytes.count == 55 : (bytes.count == 55 || bytes[55] == UInt8(ascii: "-")) else { return nil }
        guard high | low != 0, span != 0 else { return nil }
        self.init(traceID: (high, low), spanID: span, sampled: flags & 1 == 1)
    }

    /// As sent onward: always version 00.
    public var header: String { "00-\(traceIDHex)-\(spanIDHex)-\(sampled ? "01" : "00")" }
    public var traceIDHex: String { Self.hex(traceID.high) + Self.hex(traceID.low) }
    public var spanIDHex: String { Self.hex(spanID) }

    static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    private static func hex(_ bytes: ArraySlice<UInt8>) -> UInt64? {
        var value: UInt64 = 0
        for byte in bytes {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt64(digit)
        }
        return value
    }
}

/// Where a trace's position travels in a `ServiceContext`.
enum TraceParentKey: ServiceContextKey {
    typealias Value = TraceParent
    static let nameOverride: String? = "traceparent"
}

/// The vendor part (`tracestate`), carried along unchanged.
enum TraceStateKey: ServiceContextKey {
    typealias Value = String
    static let nameOverride: String? = "tracestate"
}

extension ServiceContext {
    public var traceParent: TraceParent? {
        get { self[TraceParentKey.self] }
        set { self[TraceParentKey.self] = newValue }
    }

    var traceState: String? {
        get { self[TraceStateKey.self] }
        set { self[TraceStateKey.self] = newValue }
    }
}
