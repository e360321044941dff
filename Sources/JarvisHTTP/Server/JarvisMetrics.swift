public import Prometheus
internal import Metrics

/// The process-wide Prometheus registry. swift-metrics can be bootstrapped once per process,
/// so the first use does it and every application built afterwards (tests build many) shares it.
public enum JarvisMetrics {
    public static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
