import CoreMetrics
import Logging
import Prometheus
import ServiceLifecycle
import Testing

@testable import RenkeiObservability

private let quietLogger = Logger(label: "renkei.observability.test") { _ in SwiftLogNoOpLogHandler() }

/// Runs a server on 127.0.0.1, port 0, for the duration of `body`, then
/// cancels it and waits for `run()` to return.
private func withServer(
    _ body: (_ port: Int, _ readiness: Readiness, _ registry: PrometheusCollectorRegistry) async throws -> Void
) async throws {
    let registry = PrometheusCollectorRegistry()
    let readiness = Readiness()
    let server = ObservabilityServer(
        settings: ObservabilitySettings(host: "127.0.0.1", port: 0),
        registry: registry, readiness: readiness, logger: quietLogger)
    let task = Task { try await server.run() }
    let port: Int
    do {
        port = try await server.listeningPort()
    } catch {
        task.cancel()
        _ = try? await task.value
        throw error
    }
    #expect(await server.boundPort == port)
    do {
        try await body(port, readiness, registry)
    } catch {
        task.cancel()
        _ = try? await task.value
        throw error
    }
    task.cancel()
    try await task.value
}

@Suite("ObservabilityServer")
struct ObservabilityServerTests {
    @Test("GET /healthz answers 200 ok")
    func healthz() async throws {
        try await withServer { port, _, _ in
            let response = try #require(try RawHTTPClient.get("/healthz", port: port))
            #expect(response.status == 200)
            #expect(response.body == "ok\n")
        }
    }

    @Test("GET /readyz is 503 with the failing check's reason, then 200 once it is ready")
    func readyz() async throws {
        try await withServer { port, readiness, _ in
            let empty = try #require(try RawHTTPClient.get("/readyz", port: port))
            #expect(empty.status == 503)

            readiness.set("store", ready: true)
            readiness.set("directory", ready: false, reason: "signed directory expired")
            let notReady = try #require(try RawHTTPClient.get("/readyz", port: port))
            #expect(notReady.status == 503)
            #expect(notReady.body == "directory not-ready: signed directory expired\nstore ok\n")

            readiness.set("directory", ready: true)
            let ready = try #require(try RawHTTPClient.get("/readyz?verbose=1", port: port))
            #expect(ready.status == 200)
            #expect(ready.body == "directory ok\nstore ok\n")
        }
    }

    @Test("GET /metrics serves counters, gauges and timers made through a Prometheus factory, with their labels")
    func metrics() async throws {
        try await withServer { port, _, registry in
            let factory = PrometheusMetricsFactory(registry: registry)
            let counter = Counter(
                label: "renkei_inquiries_total",
                dimensions: [("outcome", MetricLabels.bounded("no-match")), ("peer", MetricLabels.bounded("matsue"))],
                factory: factory)
            counter.increment(by: 3)
            let gauge = Gauge(label: "renkei_tenant_bytes", dimensions: [("code", MetricLabels.bounded("322016"))], factory: factory)
            gauge.record(4096)
            let timer = Timer(label: "renkei_inquiry_duration", dimensions: [("peer", "izumo")], factory: factory)
            timer.recordMilliseconds(12)

            let response = try #require(try RawHTTPClient.get("/metrics", port: port))
            #expect(response.status == 200)
            #expect(response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8")
            #expect(response.body.contains(#"renkei_inquiries_total{outcome="no-match",peer="matsue"} 3"#))
            #expect(response.body.contains(#"renkei_tenant_bytes{code="322016"} 4096"#))
            #expect(response.body.contains(#"renkei_inquiry_duration_count{peer="izumo"} 1"#))
        }
    }

    @Test("unknown paths are 404, other methods 405 with Allow: GET")
    func notFoundAndMethodNotAllowed() async throws {
        try await withServer { port, _, _ in
            let other = try #require(try RawHTTPClient.get("/other", port: port))
            #expect(other.status == 404)
            let post = try #require(try RawHTTPClient.get("/metrics", port: port, method: "POST"))
            #expect(post.status == 405)
            #expect(post.headers["allow"] == "GET")
            let delete = try #require(try RawHTTPClient.get("/readyz", port: port, method: "DELETE"))
            #expect(delete.status == 405)
        }
    }

    @Test("a keep-alive connection serves several requests in turn")
    func keepAlive() async throws {
        try await withServer { port, _, _ in
            let client = try RawHTTPClient(port: port)
            for path in ["/healthz", "/other", "/healthz"] {
                try client.send("GET \(path) HTTP/1.1\r\nhost: localhost\r\n\r\n")
                let response = try #require(client.readResponse())
                #expect(response.status == (path == "/other" ? 404 : 200))
                #expect(response.headers["connection"] == nil)
            }
        }
    }

    @Test("pipelined requests are answered in order; the head limit applies to each head, not the connection")
    func pipelinedHeads() async throws {
        try await withServer { port, _, _ in
            let client = try RawHTTPClient(port: port)
            let filler = String(repeating: "b", count: 3 * 1024)
            let paths = ["/healthz", "/other", "/healthz", "/readyz"]
            // Four heads of about 3 KiB in one write: 12 KiB in all, each under the limit.
            try client.send(paths.map { "GET \($0) HTTP/1.1\r\nhost: localhost\r\nx-filler: \(filler)\r\n\r\n" }.joined())
            var statuses: [Int] = []
            for _ in paths {
                statuses.append(try #require(client.readResponse()).status)
            }
            #expect(statuses == [200, 404, 200, 503])
        }
    }

    @Test("a request head over 8 KiB is refused: 431, or the connection closed, never an answer")
    func oversizedHead() async throws {
        try await withServer { port, _, _ in
            let client = try RawHTTPClient(port: port)
            let filler = String(repeating: "a", count: ObservabilityServer.maxRequestHeadBytes)
            // The server may close while this is still being sent.
            try? client.send("GET /healthz HTTP/1.1\r\nhost: localhost\r\nx-filler: \(filler)\r\n\r\n")
            if let response = client.readResponse() {
                #expect(response.status == 431)
            }
            #expect(client.waitForClose())

            // The server goes on serving other connections.
            let after = try #require(try RawHTTPClient.get("/healthz", port: port))
            #expect(after.status == 200)
        }
    }

    @Test("connections beyond the limit are closed without an answer")
    func connectionLimit() async throws {
        try await withServer { port, _, _ in
            var held: [RawHTTPClient] = []
            // Each held connection has been answered, so the server has
            // admitted it before the next one is opened.
            for _ in 0..<ObservabilityServer.maxConnections {
                let client = try RawHTTPClient(port: port)
                try client.send("GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
                #expect(client.readResponse()?.status == 200)
                held.append(client)
            }
            let extra = try RawHTTPClient(port: port)
            try? extra.send("GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
            #expect(extra.readResponse() == nil)

            held.removeAll()  // closes them; the server forgets them as they close
            _ = held
        }
    }

    @Test("graceful shutdown closes the listener and idle connections, and run() returns")
    func gracefulShutdown() async throws {
        let server = ObservabilityServer(
            settings: ObservabilitySettings(host: "127.0.0.1", port: 0),
            registry: PrometheusCollectorRegistry(), readiness: Readiness(), logger: quietLogger)
        let group = ServiceGroup(configuration: ServiceGroupConfiguration(services: [server], logger: quietLogger))
        let running = Task { try await group.run() }
        let port = try await server.listeningPort()

        let client = try RawHTTPClient(port: port)
        try client.send("GET /healthz HTTP/1.1\r\nhost: localhost\r\n\r\n")
        #expect(client.readResponse()?.status == 200)

        await group.triggerGracefulShutdown()
        try await running.value
        #expect(client.waitForClose())
        #expect(await server.boundPort == nil)
        await #expect(throws: ObservabilityError.self) { try await server.listeningPort() }
        await #expect(throws: ObservabilityError.self) { try await server.run() }
    }

    @Test("cancelling run() closes every connection at once, even one in the middle of a request")
    func cancellation() async throws {
        let server = ObservabilityServer(
            settings: ObservabilitySettings(host: "127.0.0.1", port: 0),
            registry: PrometheusCollectorRegistry(), readiness: Readiness(), logger: quietLogger)
        let running = Task { try await server.run() }
        let port = try await server.listeningPort()
        let client = try RawHTTPClient(port: port)
        try client.send("GET /healthz HTTP/1.1\r\nhos")
        running.cancel()
        try await running.value
        #expect(client.waitForClose())
    }

    @Test("an address that cannot be bound fails run() and listeningPort()")
    func bindFailure() async throws {
        let server = ObservabilityServer(
            settings: ObservabilitySettings(host: "127.0.0.1", port: 70000),
            registry: PrometheusCollectorRegistry(), readiness: Readiness(), logger: quietLogger)
        await #expect(throws: ObservabilityError.self) { try await server.run() }
        await #expect(throws: ObservabilityError.self) { try await server.listeningPort() }
    }
}
