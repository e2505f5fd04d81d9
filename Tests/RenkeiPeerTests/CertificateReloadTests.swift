import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import NIOSSL
import RenkeiCore
import RenkeiPKI
import RenkeiTenantStore
import RenkeiWire
import Synchronization
import Testing
import X509
@testable import RenkeiPeer

/// The server leaf serials a client saw, one per handshake.
final class HandshakeSerials: Sendable {
    private let seen = Mutex<[SerialNumber]>([])
    var all: [SerialNumber] { seen.withLock { $0 } }
    func append(_ serial: SerialNumber) { seen.withLock { $0.append(serial) } }
}

/// A client transport to 127.0.0.1:`port` with certificate `name` of `fed`,
/// trusting `trust`, that records the server's leaf serial in `serials`.
func recordingTransport(port: Int, certificate: String, key: String, trust: FederationTrust,
                        serials: HandshakeSerials, failures: HandshakeFailureLog = HandshakeFailureLog()) throws -> HTTP2ClientTransport.Posix {
    var tls = HTTP2ClientTransport.Posix.TransportSecurity.TLS(
        certificateChain: [.file(path: certificate, format: .pem)],
        privateKey: .file(path: key, format: .pem),
        serverCertificateVerification: .noHostnameVerification,
        trustRoots: .certificates([]))
    let verifier = PeerVerifier(trust: trust)
    tls.customVerificationCallback = { certificates, promise in
        guard let leaf = try? certificates.first?.toDERBytes() else {
            promise.succeed(.failed)
            return
        }
        Task {
            do {
                let chain = try await PeerVerification.verify(leaf: leaf, intermediates: [], verifier: verifier, requirement: PeerRequirement())
                serials.append(try PeerCertificateInfo(bytes: leaf, source: "server").serial)
                promise.succeed(.certificateVerified(VerificationMetadata(ValidatedCertificateChain(chain))))
            } catch let error as PeerError {
                failures.record(error)
                promise.succeed(.failed)
            } catch {
                promise.succeed(.failed)
            }
        }
    }
    return try HTTP2ClientTransport.Posix(
        target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .tls(tls),
        config: .defaults { $0.compression.enabledAlgorithms = .none })
}

/// One health check on a fresh connection; returns the server serial the handshake saw.
func freshHealthCheck(port: Int, certificate: String, key: String, trust: FederationTrust) async throws -> SerialNumber? {
    let serials = HandshakeSerials()
    let transport = try recordingTransport(port: port, certificate: certificate, key: key, trust: trust, serials: serials)
    var options = CallOptions.defaults
    options.timeout = .seconds(30)
    options.waitForReady = false
    let status = try await withGRPCClient(transport: transport) { client in
        try await Renkei_V1_Health.Client(wrapping: client).check(Renkei_V1_HealthCheckRequest(), options: options).status
    }
    #expect(status == .serving)
    return serials.all.last
}

/// A running node serves a renewed certificate to new connections without a
/// restart, keeps open connections, refuses a bad replacement, and goes
/// through a CA rollover old -> old+new -> new (ADR 0010).
@Suite struct CertificateReloadTests {
    let fed: Federation
    let store: NodeStore
    let logger = Logger(label: "test.reload")

    init() throws {
        fed = try Federation()
        store = try fed.makeStore("matsue", hosting: [matsue], residents: 1)
    }

    /// Moves certificate NAME's files over the files of certificate TARGET, by rename.
    func install(_ name: String, as target: String) throws {
        for ext in ["key", "pem"] {
            let from = fed.dir.file("certs/\(name)/\(name).\(ext)")
            let to = fed.dir.file("certs/\(target)/\(target).\(ext)")
            try #require(rename(from, to) == 0, "rename \(from) -> \(to)")
        }
    }

    /// Writes `bytes` to `path` by rename, as operators' tooling does.
    func replace(_ path: String, with bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path + ".new"))
        try #require(rename(path + ".new", path) == 0)
    }

    /// Serves the node for `config` while `body` runs.
    func serving(_ config: NodeConfig, _ body: (Int, TrustSource) async throws -> Void) async throws {
        let trust = try TrustSource(config: config, logger: logger)
        let server = try PeerServer.make(config: config, store: store, logger: logger, trustSource: trust)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            let port = try #require(try await server.listeningAddress?.ipv4?.port)
            try await body(port, trust)
            server.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func renewedCertificateIsServedToNewConnectionsWhileAnOpenOneKeepsWorking() async throws {
        let old = try fed.issue("matsue", codes: [matsue])
        let renewed = try fed.issue("matsue-renewed", codes: [matsue])
        let oldSerial = try old.info.serial, renewedSerial = try renewed.info.serial
        try fed.issue("izumo", codes: [izumo])
        let client = (cert: fed.dir.file("certs/izumo/izumo.pem"), key: fed.dir.file("certs/izumo/izumo.key"))
        try await serving(fed.config("matsue")) { port, trust in
            // A connection opened before the swap, kept open across it.
            let kept = HandshakeSerials()
            let transport = try recordingTransport(port: port, certificate: client.cert, key: client.key,
                                                   trust: fed.ca.trust, serials: kept)
            try await withGRPCClient(transport: transport) { grpc in
                let health = Renkei_V1_Health.Client(wrapping: grpc)
                #expect(try await health.check(Renkei_V1_HealthCheckRequest()).status == .serving)
                #expect(kept.all == [oldSerial])

                try install("matsue-renewed", as: "matsue")
                let seen = try await freshHealthCheck(port: port, certificate: client.cert, key: client.key, trust: fed.ca.trust)
                #expect(seen == renewedSerial, "a new connection gets the renewed certificate")
                #expect(try trust.ownCredentials().serial == renewedSerial)
                #expect(trust.refusals == 0)

                // The connection from before the swap still answers, without a new handshake.
                for _ in 0..<3 {
                    #expect(try await health.check(Renkei_V1_HealthCheckRequest()).status == .serving)
                }
                #expect(kept.all == [oldSerial])
            }
        }
    }

    @Test func badReplacementIsRefusedAndTheCertificateInUseStays() async throws {
        let current = try fed.issue("matsue", codes: [matsue])
        let currentSerial = try current.info.serial
        try fed.issue("izumo", codes: [izumo])
        let rogueCA = try FederationCA.create(name: "Rogue CA", validDays: 30)
        try fed.issue("rogue", codes: [matsue], by: rogueCA)
        try fed.issue("other", codes: [matsue])
        let client = (cert: fed.dir.file("certs/izumo/izumo.pem"), key: fed.dir.file("certs/izumo/izumo.key"))
        let certPath = fed.dir.file("certs/matsue/matsue.pem"), keyPath = fed.dir.file("certs/matsue/matsue.key")

        try await serving(fed.config("matsue")) { port, trust in
            // A key that is not the certificate's.
            _ = try #require(rename(fed.dir.file("certs/other/other.key"), keyPath) == 0)
            var seen = try await freshHealthCheck(port: port, certificate: client.cert, key: client.key, trust: fed.ca.trust)
            #expect(seen == currentSerial)
            #expect(trust.refusals == 1)
            // The same refused version is not counted again.
            seen = try await freshHealthCheck(port: port, certificate: client.cert, key: client.key, trust: fed.ca.trust)
            #expect(seen == currentSerial)
            #expect(trust.refusals == 1)

            // A certificate (with its own key) from a CA the node does not trust.
            try install("rogue", as: "matsue")
            seen = try await freshHealthCheck(port: port, certificate: client.cert, key: client.key, trust: fed.ca.trust)
            #expect(seen == currentSerial)
            #expect(trust.refusals == 2)

            // Garbage in the certificate file.
            try replace(certPath, with: Array("not a certificate\n".utf8))
            seen = try await freshHealthCheck(port: port, certificate: client.cert, key: client.key, trust: fed.ca.trust)
            #expect(seen == currentSerial)
            #expect(trust.refusals == 3)
        }
    }

    @Test func caRolloverFromOldThroughBothToNew() async throws {
        let newCA = try FederationCA.create(name: "Test Federation CA 2", validDays: 730)
        let bundlePath = fed.dir.file("trust.pem")
        let oldPEM = Array(try CertificateCoding.pem(fed.ca.certificate).utf8)
        let newPEM = Array(try CertificateCoding.pem(newCA.certificate).utf8)
        try replace(bundlePath, with: oldPEM)
        let oldServer = try fed.issue("matsue", codes: [matsue])
        let newServer = try fed.issue("matsue-new", codes: [matsue], by: newCA)
        let oldServerSerial = try oldServer.info.serial, newServerSerial = try newServer.info.serial
        try fed.issue("izumo-old", codes: [izumo])
        try fed.issue("izumo-new", codes: [izumo], by: newCA)
        func client(_ name: String) -> (String, String) {
            (fed.dir.file("certs/\(name)/\(name).pem"), fed.dir.file("certs/\(name)/\(name).key"))
        }
        var config = fed.config("matsue")
        config.caCertificatePath = bundlePath
        let both = try FederationTrust(bytes: oldPEM + newPEM, source: "old+new")
        try await serving(config) { port, trust in
            let ask = { (name: String, clientTrust: FederationTrust) async -> SerialNumber? in
                let (cert, key) = client(name)
                return try? await freshHealthCheck(port: port, certificate: cert, key: key, trust: clientTrust)
            }
            // Old CA only: a new-CA peer is refused.
            #expect(await ask("izumo-old", fed.ca.trust) == oldServerSerial)
            #expect(await ask("izumo-new", both) == nil)

            // Overlap: both CAs trusted, in both directions.
            try replace(bundlePath, with: oldPEM + newPEM)
            #expect(await ask("izumo-old", both) == oldServerSerial)
            #expect(await ask("izumo-new", both) == oldServerSerial)
            try install("matsue-new", as: "matsue")
            #expect(await ask("izumo-old", both) == newServerSerial, "the node takes a new-CA certificate during the overlap")
            #expect(await ask("izumo-new", newCA.trust) == newServerSerial)
            #expect(trust.trust.certificates.count == 2)

            // New CA only: an old-CA peer is refused, and the error says why.
            try replace(bundlePath, with: newPEM)
            #expect(await ask("izumo-new", newCA.trust) == newServerSerial)
            #expect(await ask("izumo-old", both) == nil)
            let (oldClientCert, _) = client("izumo-old")
            let leaf = try CertificateCoding.certificate(from: Array(try Data(contentsOf: URL(fileURLWithPath: oldClientCert))),
                                                         source: oldClientCert)
            let refusal = await peerError {
                _ = try await PeerVerification.verify(leaf: try CertificateCoding.der(leaf), intermediates: [],
                                                      verifier: trust.verifier(), requirement: PeerRequirement())
            }
            let error = try #require(refusal)
            #expect(error.message.contains("not issued by the federation CA"))
            #expect(error.message.contains("Test Federation CA 2"))
            #expect(trust.refusals == 0)

            // A bundle holding a node certificate instead of a CA is refused; the new CA stays.
            try replace(bundlePath, with: Array(try CertificateCoding.pem(newServer.certificate).utf8))
            #expect(await ask("izumo-new", newCA.trust) == newServerSerial)
            #expect(trust.refusals == 1)
        }
    }
}
