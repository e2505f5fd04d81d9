import ArgumentParser
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiCluster
import RenkeiCore
import RenkeiPeer
import RenkeiWire

/// Single-inquiry latency: repeated `renkei.v1.TransferInquiry/Inquire`
/// calls over ONE kept-open mutual-TLS connection, with the requester
/// node's own certificate and the same in-handshake checks as
/// `TransferInquiryClient` (federation CA, revocation list, target code,
/// pinned key). Process start and the handshake are outside the timings.
/// Runs until `--stop-file` exists or `--seconds` have passed.
struct SingleLatency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "single-latency",
        abstract: "Repeated single transfer inquiries over one kept-open mTLS connection; latency percentiles.")

    @Option(help: "The requester's operator view (D/CODE of a cluster).")
    var node: String
    @Option(help: "The target municipality (its provider node is asked).")
    var target: String
    @Option(help: "The cluster directory: real numbers of --target are regenerated from it (all inquiries MATCH).")
    var clusterDir: String
    @Option(help: "Distinct numbers to cycle through.")
    var numbers: Int = 1_000
    @Option(help: "Milliseconds between the starts of two inquiries (an operator's pace, not a load test).")
    var intervalMs: Double = 10
    @Option(help: "Stop after this many seconds at most.")
    var seconds: Double = 60
    @Option(help: "Stop as soon as this file exists.")
    var stopFile: String?
    @Option(help: "Inquiries before timing starts (connection warm-up).")
    var warmup: Int = 20
    @Option(help: "A label for this run (e.g. idle, during-bulk).")
    var phase: String = "during-bulk"
    @Option(help: "Write the result JSON here.")
    var out: String

    struct Report: Codable {
        var measure = "singleInquiry"
        var phase: String
        var description = "repeated TransferInquiry/Inquire over one kept-open mTLS connection (requester node's certificate, in-handshake checks); MATCH answers"
        var build: String
        var target: String
        var requester: String
        var inquiries: Int
        var errors: Int
        var matches: Int
        var seconds: Double
        var intervalMs: Double
        var latencyMs: Percentiles
        var firstError: String?
        var startedAt: String
        var loadAverage: String
    }

    func run() async throws {
        let started = Resources.now()
        let view = try OperatorView.load(directory: node)
        let config = try NodeConfig.load(contentsOf: view.nodeConfigPath)
        let targetCode = try MunicipalityCode(target)
        let spec = try ClusterState.load(directory: clusterDir).spec
        let pool = try ClusterSample.individualNumbers(code: target, in: spec, count: numbers)
        guard !pool.isEmpty else { throw Failure("no numbers for \(target)") }
        let trust = try PeerTrust.load(config)
        let route = try PeerRoute.lookUp(targetCode, config: config, trust: trust.trust)
        let failures = HandshakeFailureLog()
        var tls = HTTP2ClientTransport.Posix.TransportSecurity.TLS(
            certificateChain: [.file(path: config.certificatePath, format: .pem)],
            privateKey: .file(path: config.privateKeyPath, format: .pem),
            serverCertificateVerification: .noHostnameVerification,
            trustRoots: .certificates([.file(path: config.caCertificatePath, format: .pem)]))
        tls.customVerificationCallback = PeerVerification.callback(
            verifier: trust.verifier,
            requirement: PeerRequirement(code: targetCode, spkiSHA256: route.entry.spkiSHA256),
            failures: failures)
        let host = route.entry.host, port = route.entry.port
        let endpoint: any ResolvableTarget = host.contains(":") ? .ipv6(address: host, port: port) : .ipv4(address: host, port: port)
        let transport = try HTTP2ClientTransport.Posix(
            target: endpoint,
            transportSecurity: .tls(tls),
            config: .defaults { $0.compression.enabledAlgorithms = .none })
        var options = CallOptions.defaults
        options.timeout = .seconds(10)
        options.maxResponseMessageBytes = config.limits.maxMessageBytes
        let requester = view.municipality
        let interval = Duration.microseconds(Int64(intervalMs * 1000))
        let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
        let stopFile = self.stopFile
        let warmup = self.warmup

        let (samples, errors, matches, firstError, elapsed) = try await withGRPCClient(transport: transport) { (client) async throws -> ([Double], Int, Int, String?, Double) in
            let inquiry = Renkei_V1_TransferInquiry.Client(wrapping: client)
            var samples: [Double] = []
            var errors = 0, matches = 0, i = 0
            var firstError: String?
            var timingStart = ContinuousClock.now
            while ContinuousClock.now < deadline {
                if let stopFile, i >= warmup, FileManager.default.fileExists(atPath: stopFile) { break }
                if i == warmup { timingStart = ContinuousClock.now }
                let request = TransferInquiry(requester: requester, target: targetCode, number: pool[i % pool.count],
                                              consentReference: "bench-single-latency").request()
                let start = ContinuousClock.now
                do {
                    let response = try await inquiry.inquire(request, options: options)
                    let ms = millis(since: start)
                    if i >= warmup {
                        samples.append(ms)
                        if response.outcome == .match { matches += 1 }
                    }
                } catch {
                    if i >= warmup { errors += 1 }
                    if firstError == nil { firstError = failures.lastFailure.map { "\($0)" } ?? "\(error)" }
                    if i < warmup, i > 3 { throw Failure("single inquiries fail: \(firstError ?? "?")") }
                }
                i += 1
                let next = start + interval
                if next > ContinuousClock.now { try await Task.sleep(until: next, clock: .continuous) }
            }
            return (samples, errors, matches, firstError, (ContinuousClock.now - timingStart) / .seconds(1))
        }
        let report = Report(
            phase: phase, build: buildKind, target: target, requester: requester.rawValue,
            inquiries: samples.count + errors, errors: errors, matches: matches, seconds: elapsed,
            intervalMs: intervalMs, latencyMs: Percentiles(millis: samples), firstError: firstError,
            startedAt: started, loadAverage: Resources.loadAverage())
        print(String(format: "single inquiry (%@): %d calls, p50 %.2f ms, p99 %.2f ms, max %.2f ms, %d errors",
                     phase, report.inquiries, report.latencyMs.p50, report.latencyMs.p99, report.latencyMs.max, errors))
        try writeJSON(report, to: out)
    }
}
