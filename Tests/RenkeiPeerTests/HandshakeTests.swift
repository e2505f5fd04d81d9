import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiCore
import RenkeiPKI
import RenkeiTenantStore
import RenkeiWire
import Testing
@testable import RenkeiPeer

/// Who may connect, and to whom a requester sends a number: decided in the
/// TLS handshake, before any request.
@Suite struct HandshakeTests {
    let fed: Federation
    let provider: IssuedCertificate
    let store: NodeStore
    let metrics = PeerMetrics()
    let number = people(matsue, count: 1, seed: 322016)[0].resident.individualNumber

    init() throws {
        fed = try Federation()
        provider = try fed.issue("matsue", codes: [matsue])
        store = try fed.makeStore("matsue", hosting: [matsue], residents: 1)
    }

    func inquiry(as requester: MunicipalityCode = izumo, target: MunicipalityCode = matsue) -> TransferInquiry {
        TransferInquiry(requester: requester, target: target, number: number, consentReference: "consent-1")
    }

    /// Asks Matsue with client certificate NAME; returns the error, if any.
    func askFails(certificate name: String, serverConfig: NodeConfig? = nil) async throws -> PeerError? {
        try await withProvider(serverConfig ?? fed.config("matsue"), store: store, metrics: metrics) { port in
            let directory = try fed.signDirectory([matsue: (port, provider)])
            return await peerError {
                _ = try await TransferInquiryClient.inquire(inquiry(), config: fed.config(name, directory: directory))
            }
        }
    }

    @Test func validClientCertificateIsAccepted() async throws {
        try fed.issue("izumo", codes: [izumo])
        #expect(try await askFails(certificate: "izumo") == nil)
        #expect(metrics.snapshot.matches == 1)
    }

    @Test func clientCertificateFromAnotherCAIsRefused() async throws {
        let rogueCA = try FederationCA.create(name: "Test Federation CA", validDays: 365)
        try fed.issue("rogue", codes: [izumo], by: rogueCA)
        let error = try await askFails(certificate: "rogue")
        #expect(error != nil)
        #expect(metrics.snapshot.inquiriesReceived == 0)
    }

    @Test func expiredClientCertificateIsRefused() async throws {
        try fed.issue("expired", codes: [izumo], notBefore: Date().addingTimeInterval(-10 * day),
                      notAfter: Date().addingTimeInterval(-day))
        let error = try await askFails(certificate: "expired")
        #expect(error != nil)
        #expect(metrics.snapshot.inquiriesReceived == 0)
    }

    @Test func revokedClientCertificateIsRefused() async throws {
        let revoked = try fed.issue("revoked", codes: [izumo])
        let list = try RevocationList.sign([.init(serial: try revoked.info.serial, revokedAt: Date(), reason: "keyCompromise")],
                                           ca: fed.ca, nextUpdate: Date().addingTimeInterval(day))
        let path = fed.dir.file("revocations.json")
        try Data(list).write(to: URL(fileURLWithPath: path))
        try fed.issue("izumo", codes: [izumo])
        let serverConfig = fed.config("matsue", revocations: path)
        let error = try await askFails(certificate: "revoked", serverConfig: serverConfig)
        #expect(error != nil)
        #expect(metrics.snapshot.inquiriesReceived == 0)
        // The same server still accepts an unrevoked certificate.
        #expect(try await askFails(certificate: "izumo", serverConfig: serverConfig) == nil)
    }

    @Test func missingClientCertificateIsRefused() async throws {
        try await withProvider(fed.config("matsue"), store: store, metrics: metrics) { port in
            let tls = HTTP2ClientTransport.Posix.TransportSecurity.TLS(
                certificateChain: [], privateKey: nil, serverCertificateVerification: .noHostnameVerification,
                trustRoots: .certificates([.file(path: fed.caPath, format: .pem)]))
            let transport = try HTTP2ClientTransport.Posix(target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: .tls(tls))
            var options = CallOptions.defaults
            options.timeout = .seconds(5)
            options.waitForReady = false
            await #expect(throws: RPCError.self) {
                try await withGRPCClient(transport: transport) { client in
                    try await Renkei_V1_TransferInquiry.Client(wrapping: client).inquire(request(number: number.digits), options: options)
                }
            }
        }
        #expect(metrics.snapshot.inquiriesReceived == 0)
    }

    @Test func misroutedServerNeverReceivesTheNumber() async throws {
        // The directory says Matsue is at a node whose certificate carries only Hamada.
        let hamadaNode = try fed.issue("hamada", codes: [hamada])
        try fed.issue("izumo", codes: [izumo])
        let hamadaStore = try fed.makeStore("hamada", hosting: [hamada], residents: 1)
        let hamadaMetrics = PeerMetrics()
        try await withProvider(fed.config("hamada"), store: hamadaStore, metrics: hamadaMetrics) { port in
            let directory = try fed.signDirectory([matsue: (port, hamadaNode)])
            let error = await peerError {
                _ = try await TransferInquiryClient.inquire(inquiry(), config: fed.config("izumo", directory: directory))
            }
            #expect(error?.code == .misrouted)
            #expect(error?.message.contains("322016") == true)
        }
        #expect(hamadaMetrics.snapshot.inquiriesReceived == 0)
    }

    @Test func serverWithAnotherKeyThanTheDirectoryPinsIsRefused() async throws {
        // Right code, but not the certificate the directory names.
        let impostor = try fed.issue("matsue-impostor", codes: [matsue])
        try fed.issue("izumo", codes: [izumo])
        let otherStore = try fed.makeStore("impostor", hosting: [matsue], residents: 1)
        let otherMetrics = PeerMetrics()
        _ = impostor
        try await withProvider(fed.config("matsue-impostor"), store: otherStore, metrics: otherMetrics) { port in
            let directory = try fed.signDirectory([matsue: (port, provider)])
            let error = await peerError {
                _ = try await TransferInquiryClient.inquire(inquiry(), config: fed.config("izumo", directory: directory))
            }
            #expect(error?.code == .misrouted)
        }
        #expect(otherMetrics.snapshot.inquiriesReceived == 0)
    }

    @Test func unsignedTamperedOrExpiredDirectoryIsRefusedBeforeConnecting() async throws {
        try fed.issue("izumo", codes: [izumo])
        let signed = try fed.signDirectory([matsue: (1, provider)])
        var bytes = try Data(contentsOf: URL(fileURLWithPath: signed))
        let tamperedPath = fed.dir.file("tampered.json")
        if let i = bytes.firstIndex(of: UInt8(ascii: "1")) { bytes[i] = UInt8(ascii: "2") }
        try bytes.write(to: URL(fileURLWithPath: tamperedPath))
        let unsignedPath = fed.dir.file("unsigned.json")
        try Data(#"{"entries":{}}"#.utf8).write(to: URL(fileURLWithPath: unsignedPath))
        let expired = try SignedDirectory.sign(
            [matsue: DirectoryEntry(nodeName: "matsue", host: "127.0.0.1", port: 1, spkiSHA256: try provider.info.spkiSHA256)],
            ca: fed.ca, issuedAt: Date().addingTimeInterval(-2 * day), expiresAt: Date().addingTimeInterval(-day))
        let expiredPath = fed.dir.file("expired.json")
        try Data(expired).write(to: URL(fileURLWithPath: expiredPath))
        for path in [tamperedPath, unsignedPath, expiredPath] {
            let error = await peerError {
                _ = try await TransferInquiryClient.inquire(inquiry(), config: fed.config("izumo", directory: path))
            }
            #expect(error?.code == .directory)
        }
    }
}
