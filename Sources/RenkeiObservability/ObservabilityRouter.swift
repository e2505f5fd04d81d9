import NIOHTTP1
import Prometheus

/// One answer of the endpoint, decided without any I/O.
struct ObservabilityResponse: Sendable {
    var status: HTTPResponseStatus
    var contentType: String
    var body: [UInt8]
    /// Sent as `Allow` on 405.
    var allow: String?

    static func text(_ status: HTTPResponseStatus, _ text: String, allow: String? = nil) -> ObservabilityResponse {
        ObservabilityResponse(status: status, contentType: "text/plain; charset=utf-8", body: Array(text.utf8), allow: allow)
    }
}

/// The endpoint's routes, as a value that maps a request line to a response:
/// `GET /metrics`, `GET /healthz`, `GET /readyz`; any other path 404, any
/// other method 405. Query strings are ignored.
struct ObservabilityRouter: Sendable {
    /// The most bytes `/metrics` answers with. Far above what the node's
    /// bounded label sets produce; past it the scrape fails loudly (500)
    /// instead of sending an unbounded body.
    static let maxMetricsBytes = 16 << 20

    static let metricsContentType = "text/plain; version=0.0.4; charset=utf-8"

    let registry: PrometheusCollectorRegistry
    let readiness: Readiness

    func respond(method: HTTPMethod, uri: String) -> ObservabilityResponse {
        guard method == .GET else {
            return .text(.methodNotAllowed, "method not allowed\n", allow: "GET")
        }
        let path = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
        switch path {
        case "/metrics":
            return metrics()
        case "/healthz":
            // The process runs and its event loop answers: that is all
            // liveness means. Whether it can serve is /readyz.
            return .text(.ok, "ok\n")
        case "/readyz":
            return ready()
        default:
            return .text(.notFound, "not found\n")
        }
    }

    private func metrics() -> ObservabilityResponse {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        guard buffer.count <= Self.maxMetricsBytes else {
            return .text(.internalServerError, "metrics exceed \(Self.maxMetricsBytes) bytes\n")
        }
        return ObservabilityResponse(status: .ok, contentType: Self.metricsContentType, body: buffer, allow: nil)
    }

    private func ready() -> ObservabilityResponse {
        let checks = readiness.snapshot
        guard !checks.isEmpty else {
            return .text(.serviceUnavailable, "no checks reported yet\n")
        }
        var text = ""
        for check in checks {
            if check.ready {
                text += "\(check.check) ok\n"
            } else {
                text += "\(check.check) not-ready: \(check.reason)\n"
            }
        }
        // Decided from the same snapshot as the lines, so the status and
        // the body never disagree (the snapshot includes the overflow check).
        return .text(checks.allSatisfy(\.ready) ? .ok : .serviceUnavailable, text)
    }
}
