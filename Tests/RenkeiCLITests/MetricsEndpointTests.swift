#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// The node's metrics, health and readiness endpoint (issue 7, item 1) on a
/// real node process: a node with `metricsPort` answers /healthz, /readyz and
/// /metrics, and an inquiry it answered shows up by outcome and requester,
/// never with a number.
@Suite(.serialized) struct MetricsEndpointTests {
    /// Whether something accepts TCP connections on 127.0.0.1:`port` (no expectation recorded).
    static func accepts(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// `GET path` over a plain TCP connection to 127.0.0.1:`port`; the status line and body.
    static func get(_ path: String, port: Int) throws -> (status: Int, body: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0, "connect to \(port)")
        let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        #expect(write(fd, request, request.count) == request.count)
        var response: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { break }
            response += buffer[0..<n]
        }
        let text = String(decoding: response, as: UTF8.self)
        let status = Int(text.split(separator: " ").dropFirst().first ?? "") ?? 0
        let body = text.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, body)
    }

    @Test func healthReadinessAndInquiryCounts() throws {
        let scratch = try Scratch()
        let ports = try ClusterCommandTests.freePorts(3)
        let spec = """
        {"seed": 3, "nodes": [
          {"name": "matsue", "port": \(ports[0]), "municipalities": [{"code": "322016", "residents": 5}]},
          {"name": "izumo", "port": \(ports[1]), "metricsPort": \(ports[2]), "municipalities": [{"code": "322032", "residents": 5}]}
        ]}
        """
        try spec.write(toFile: scratch.path + "/cluster.json", atomically: true, encoding: .utf8)
        let dir = scratch.path + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        let up = try Renkei.run(["cluster", "up", scratch.path + "/cluster.json", "--dir", dir])
        try #require(up.exitCode == 0, "cluster up failed: \(up.stderr)")

        let health = try Self.get("/healthz", port: ports[2])
        #expect(health.status == 200 && health.body.hasPrefix("ok"))
        let ready = try Self.get("/readyz", port: ports[2])
        #expect(ready.status == 200, "\(ready.body)")
        #expect(ready.body.contains("peer-api ok") && ready.body.contains("admin-api ok") && ready.body.contains("tenants ok"), "\(ready.body)")

        let number = try Renkei.run(["cluster", "sample", "--dir", dir, "--code", "322032", "--count", "1"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let asked = try Renkei.run(["inquire", "transfer", "--node", dir + "/322016", "--from", "322032", "--number", number])
        #expect(asked.exitCode == 0, "\(asked.stdout)\(asked.stderr)")

        // A bulk run: two residents of izumo and one number it does not hold.
        let rows = try InquireBulkCommandTests.numbers("322032", count: 2, seed: 3) + InquireBulkCommandTests.numbers("322032", count: 1, seed: 99)
        try (InquireBulkCommandTests.header + rows.map { "322032,\($0),,\n" }.joined())
            .write(toFile: scratch.path + "/bulk.csv", atomically: true, encoding: .utf8)
        let bulk = try Renkei.run(["inquire", "bulk", "--node", dir + "/322016", scratch.path + "/bulk.csv", "--out", scratch.path + "/bulk-out.csv"])
        #expect(bulk.exitCode == 0, "\(bulk.stdout)\(bulk.stderr)")

        let metrics = try Self.get("/metrics", port: ports[2])
        #expect(metrics.status == 200)
        func line(_ name: String, _ labels: [String]) -> String? {
            metrics.body.split(separator: "\n").map(String.init).first { l in l.hasPrefix(name + "{") && labels.allSatisfy { l.contains($0) } }
        }
        #expect(line("renkei_bulk_items_answered_total", ["outcome=\"match\"", "requester=\"322016\""])?.hasSuffix(" 2") == true, "\(metrics.body)")
        #expect(line("renkei_bulk_items_answered_total", ["outcome=\"no-match\"", "requester=\"322016\""])?.hasSuffix(" 1") == true, "\(metrics.body)")
        let stored = line("renkei_storage_bytes", ["tenant=\"322032\""]).flatMap { Double($0.split(separator: " ").last ?? "") }
        #expect((stored ?? 0) > 0, "izumo's tenant takes some bytes: \(metrics.body)")
        let matched = metrics.body.split(separator: "\n").filter {
            $0.hasPrefix("renkei_inquiries_answered_total{") && $0.contains("outcome=\"match\"") && $0.contains("requester=\"322016\"")
        }
        #expect(matched.count == 1 && matched.first?.hasSuffix(" 1") == true, "\(metrics.body)")
        #expect(metrics.body.contains("renkei_inquiry_answer_seconds"))
        #expect(metrics.body.contains("renkei_certificate_not_after_seconds{certificate=\"node\"}"))
        #expect(metrics.body.contains("renkei_tenants_hosted 1"))
        #expect(!metrics.body.contains(number), "no Individual Number in a metric")
        #expect(try Self.get("/other", port: ports[2]).status == 404)
    }
}
