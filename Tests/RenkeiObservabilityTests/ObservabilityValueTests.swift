import Foundation
import NIOHTTP1
import Prometheus
import Testing

@testable import RenkeiObservability

@Suite("MetricLabels")
struct MetricLabelsTests {
    @Test("municipality codes with a valid check digit pass", arguments: ["322016", "322024", "322032", "131016"])
    func codesPass(code: String) {
        #expect(MetricLabels.bounded(code) == code)
    }

    @Test("outcome words and node names pass", arguments: ["match", "no-match", "refused", "matsue", "hamada-yasugi", "node-322016", "n1"])
    func wordsPass(word: String) {
        #expect(MetricLabels.bounded(word) == word)
    }

    @Test("numbers, names and anything unbounded become other", arguments: [
        "123456789012",  // shaped like an Individual Number
        "322015",  // six digits, wrong check digit
        "32201",
        "3220160",
        "node-123456789012",  // a number behind a prefix
        "a1234567",
        "Yamada Taro",
        "山田太郎",
        "やまだ",
        "Matsue",
        "",
        "1node",
        "a-very-long-node-name-over-32-chars",
        "09012345678",
        "peer.example",
    ])
    func othersAreOther(value: String) {
        #expect(MetricLabels.bounded(value) == "other")
    }
}

@Suite("Readiness")
struct ReadinessTests {
    @Test("not ready until a check is set; ready only when all are")
    func allChecks() {
        let readiness = Readiness()
        #expect(!readiness.isReady)
        readiness.set("store", ready: true)
        #expect(readiness.isReady)
        readiness.set("peers", ready: false, reason: "no peer reachable")
        #expect(!readiness.isReady)
        #expect(readiness.snapshot.map(\.check) == ["peers", "store"])
        #expect(readiness.snapshot.first?.reason == "no peer reachable")
        readiness.set("peers", ready: true)
        #expect(readiness.isReady)
    }

    @Test("reasons are one bounded line")
    func boundedReason() {
        let readiness = Readiness()
        readiness.set("store", ready: false, reason: "line one\nline two" + String(repeating: "x", count: 500))
        let reason = try! #require(readiness.snapshot.first?.reason)
        #expect(!reason.contains("\n"))
        #expect(reason.count == Readiness.maxReasonLength)
    }

    @Test("more checks than the limit make the node not ready")
    func overflow() {
        let readiness = Readiness()
        for i in 0..<Readiness.maxChecks { readiness.set("check-\(i)", ready: true) }
        #expect(readiness.isReady)
        readiness.set("one-too-many", ready: true)
        #expect(!readiness.isReady)
        #expect(readiness.snapshot.contains { $0.check == Readiness.overflowCheck && !$0.ready })
    }
}

@Suite("ObservabilityRouter and settings")
struct ObservabilityRouterTests {
    @Test("routes by method and path, ignoring the query")
    func routes() {
        let router = ObservabilityRouter(registry: PrometheusCollectorRegistry(), readiness: Readiness())
        #expect(router.respond(method: .GET, uri: "/healthz").status == .ok)
        #expect(router.respond(method: .GET, uri: "/healthz?x=1").status == .ok)
        #expect(router.respond(method: .GET, uri: "/metrics").status == .ok)
        #expect(router.respond(method: .GET, uri: "/readyz").status == .serviceUnavailable)
        #expect(router.respond(method: .GET, uri: "/").status == .notFound)
        #expect(router.respond(method: .HEAD, uri: "/healthz").status == .methodNotAllowed)
        #expect(router.respond(method: .PUT, uri: "/metrics").allow == "GET")
    }

    @Test("settings decode with every key optional")
    func settingsDecode() throws {
        let empty = try JSONDecoder().decode(ObservabilitySettings.self, from: Data("{}".utf8))
        #expect(empty == ObservabilitySettings(host: "127.0.0.1", port: 9464))
        let port = try JSONDecoder().decode(ObservabilitySettings.self, from: Data(#"{"port": 9100}"#.utf8))
        #expect(port == ObservabilitySettings(host: "127.0.0.1", port: 9100))
        let both = ObservabilitySettings(host: "0.0.0.0", port: 1)
        let roundTrip = try JSONDecoder().decode(ObservabilitySettings.self, from: JSONEncoder().encode(both))
        #expect(roundTrip == both)
    }
}
