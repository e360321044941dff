/// Where spans go and how many traces are recorded. The endpoint and service name use
/// OpenTelemetry's own variable names, so a deployment's usual OTel settings apply unchanged.
public struct TracingSettings: Sendable, Equatable {
    /// The collector's OTLP/HTTP traces URL; nil records nothing (trace ids still flow).
    public var otlpEndpoint: String?
    public var serviceName = "jarvis"
    /// Share of new traces recorded (a request arriving with a `traceparent` follows its sampled flag).
    public var sampleRatio = 1.0

    public init() {}

    static func read(_ settings: Settings) throws(ConfigurationError) -> TracingSettings {
        var tracing = TracingSettings()
        if let traces = settings.text("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") {
            tracing.otlpEndpoint = traces
        } else if let base = settings.text("OTEL_EXPORTER_OTLP_ENDPOINT") {
            tracing.otlpEndpoint = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/v1/traces"
        }
        if let endpoint = tracing.otlpEndpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw .invalid("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "must be an http:// or https:// URL")
        }
        tracing.serviceName = settings.text("OTEL_SERVICE_NAME") ?? tracing.serviceName
        if let ratio = settings.text("JARVIS_TRACE_SAMPLE_RATIO") {
            guard let value = Double(ratio), (0...1).contains(value) else { throw .invalid("JARVIS_TRACE_SAMPLE_RATIO", "must be a number in 0...1") }
            tracing.sampleRatio = value
        }
        return tracing
    }
}
