public import Tracing
internal import Synchronization
internal import JarvisCrypto

/// The process's tracer: W3C `traceparent`/`tracestate` in and out, spans recorded for sampled
/// traces and handed to the OTLP exporter when one is configured.
///
/// Sampling follows the parent: a request that arrives with a sampled `traceparent` is recorded,
/// one that arrives unsampled is not; a new trace is recorded with probability `sampleRatio`.
/// Without an exporter nothing is recorded, but trace ids still flow (into logs and onward).
public struct JarvisTracer: Tracer {
    public typealias Span = JarvisSpan
    let exporter: SpanExporter?
    let sampleRatio: Double

    public init(exporter: SpanExporter?, sampleRatio: Double) {
        self.exporter = exporter
        self.sampleRatio = sampleRatio
    }

    public func startSpan<Instant: TracerInstant>(
        _ operationName: String, context: @autoclosure () -> ServiceContext, ofKind kind: SpanKind, at instant: @autoclosure () -> Instant,
        function: String, file fileID: String, line: UInt
    ) -> JarvisSpan {
        var context = context()
        let parent = context.traceParent
        let sampled = exporter != nil && (parent?.sampled ?? (sampleRatio >= 1 || Double(Self.nonZero() >> 11) * 0x1p-53 < sampleRatio))
        let own = TraceParent(traceID: parent?.traceID ?? (Self.nonZero(), Self.nonZero()), spanID: Self.nonZero(), sampled: sampled)
        context.traceParent = own
        return JarvisSpan(
            operationName: operationName, kind: kind, context: context, parentSpanID: parent?.spanID,
            start: instant().nanosecondsSinceEpoch, exporter: sampled ? exporter : nil)
    }

    public func forceFlush() {}

    public func extract<Carrier, Extract: Extractor>(_ carrier: Carrier, into context: inout ServiceContext, using extractor: Extract)
    where Extract.Carrier == Carrier {
        guard let header = extractor.extract(key: "traceparent", from: carrier), let parent = TraceParent(header: header) else { return }
        context.traceParent = parent
        if let state = extractor.extract(key: "tracestate", from: carrier), state.utf8.count <= 512 { context.traceState = state }
    }

    public func inject<Carrier, Inject: Injector>(_ context: ServiceContext, into carrier: inout Carrier, using injector: Inject)
    where Inject.Carrier == Carrier {
        guard let parent = context.traceParent else { return }
        injector.inject(parent.header, forKey: "traceparent", into: &carrier)
        if let state = context.traceState { injector.inject(state, forKey: "tracestate", into: &carrier) }
    }

    /// Ids need to be unique and evenly spread, not secret: drawn without a system call
    /// (`UInt64.random` asked the kernel on every draw, three times per traced request).
    private static func nonZero() -> UInt64 { max(ids.next().bits, 1) }
    private static let ids = SpreadCounter()
}

/// One span. Unsampled spans carry the context (ids) and record nothing.
public final class JarvisSpan: Tracing.Span {
    public let context: ServiceContext
    let kind: SpanKind
    let parentSpanID: UInt64?
    let start: UInt64
    /// nil: not recorded.
    private let exporter: SpanExporter?
    // Locking rule: the mutable parts change only under this lock.
    private let state: Mutex<State>

    struct State {
        var operationName: String
        var attributes = SpanAttributes()
        var status: SpanStatus?
        var events: [SpanEvent] = []
        var ended = false
    }

    init(operationName: String, kind: SpanKind, context: ServiceContext, parentSpanID: UInt64?, start: UInt64, exporter: SpanExporter?) {
        self.context = context
        self.kind = kind
        self.parentSpanID = parentSpanID
        self.start = start
        self.exporter = exporter
        state = Mutex(State(operationName: operationName))
    }

    public var isRecording: Bool { exporter != nil }

    public var operationName: String {
        get { state.withLock { $0.operationName } }
        set { state.withLock { $0.operationName = newValue } }
    }

    public var attributes: SpanAttributes {
        get { state.withLock { $0.attributes } }
        set {
            guard isRecording else { return }
            state.withLock { $0.attributes = newValue }
        }
    }

    public func setStatus(_ status: SpanStatus) {
        guard isRecording else { return }
        state.withLock { $0.status = status }
    }

    public func addEvent(_ event: SpanEvent) {
        guard isRecording else { return }
        state.withLock { $0.events.append(event) }
    }

    public func recordError<Instant: TracerInstant>(
        _ error: any Error, attributes: SpanAttributes, at instant: @autoclosure () -> Instant
    ) {
        guard isRecording else { return }
        var details = attributes
        details["exception.type"] = "\(type(of: error))"
        details["exception.message"] = "\(error)"
        addEvent(SpanEvent(name: "exception", at: instant(), attributes: details))
    }

    public func addLink(_ link: SpanLink) {}

    public func end<Instant: TracerInstant>(at instant: @autoclosure () -> Instant) {
        guard let exporter else { return }
        let end = instant().nanosecondsSinceEpoch
        let finished: FinishedSpan? = state.withLock { state in
            guard !state.ended else { return nil }
            state.ended = true
            guard let own = context.traceParent else { return nil }
            return FinishedSpan(
                traceParent: own, parentSpanID: parentSpanID, name: state.operationName, kind: kind, start: start, end: end,
                attributes: state.attributes, status: state.status, events: state.events)
        }
        if let finished { exporter.enqueue(finished) }
    }
}
