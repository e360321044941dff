public import Prometheus
internal import Metrics

/// The process-wide Prometheus registry. swift-metrics can be bootstrapped once per process,
/// so the first use does it and every application built afterwards (tests build many) shares it.
public enum JarvisMetrics {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["http.server.request.duration"] = requestDurationBuckets
        MetricsSystem.bootstrap(factory)
        return registry
    }()

    /// The request-duration histogram's buckets: from 50 µs, since the hot path answers in
    /// microseconds and the default buckets (from 5 ms) would put every check in the first one.
    static let requestDurationBuckets: [Duration] = [
        .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2_500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
        .milliseconds(500), .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10),
    ]
}
