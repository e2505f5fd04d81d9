import Metrics
import Prometheus

/// Bootstraps swift-metrics with a Prometheus registry.
///
/// Only `main` bootstraps metrics (swift-metrics allows one bootstrap per
/// process; a second one traps). Libraries create their metrics through
/// `MetricsSystem` and never see Prometheus; the registry returned here is
/// what ``ObservabilityServer`` serves on `/metrics`.
public enum MetricsBootstrap {
    /// Creates a registry, bootstraps `MetricsSystem` with a
    /// `PrometheusMetricsFactory` over it, and returns the registry.
    /// Call once, from `main` only; tests make their own registry and
    /// factory instead.
    public static func prometheus() -> PrometheusCollectorRegistry {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }
}
