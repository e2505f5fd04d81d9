import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RenkeiCore
import RenkeiPKI
import RenkeiSynth
import RenkeiTenantStore
import RenkeiWire
import SwiftProtobuf
@testable import RenkeiPeer

let matsue = try! MunicipalityCode("322016")
let izumo = try! MunicipalityCode("322032")
let hamada = try! MunicipalityCode("322024")
let yasugi = try! MunicipalityCode("322067")
let day: TimeInterval = 86_400

/// A scratch directory removed at the end of the test.
final class TempDir: Sendable {
    let path = NSTemporaryDirectory() + "renkei-peer-\(UUID().uuidString)"
    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// Synthetic residents of `code`, deterministic per seed.
func people(_ code: MunicipalityCode, count: Int, seed: UInt64 = 1) -> [GeneratedPerson] {
    let generator = PopulationGenerator(spec: PopulationSpec(municipality: code, count: count, seed: seed))
    return (0..<count).map { generator.person(at: $0) }
}

/// A federation in a temp dir: a CA, certificates issued from it, a provider
/// node store with tenants and residents, and signed directories.
final class Federation: Sendable {
    let dir: TempDir
    let ca: FederationCA
    let logger = Logger(label: "test.peer")

    init() throws {
        dir = try TempDir()
        ca = try FederationCA.create(name: "Test Federation CA", validDays: 365)
        try CADirectory(dir.file("ca")).create(ca)
    }

    var caPath: String { dir.file("ca/ca.pem") }

    /// Issues a node certificate; returns the directory holding NAME.pem, NAME.key, ca.pem.
    @discardableResult
    func issue(_ name: String, codes: [MunicipalityCode], by issuer: FederationCA? = nil,
               notBefore: Date = Date().addingTimeInterval(-60), notAfter: Date = Date().addingTimeInterval(30 * day)) throws -> IssuedCertificate {
        let request = CertificateRequest(name: name, role: .node, municipalityCodes: codes, dnsNames: ["localhost"],
                                         ipAddresses: ["127.0.0.1"], notBefore: notBefore, notAfter: notAfter)
        let issued = try (issuer ?? ca).issue(request)
        try issued.write(to: dir.file("certs/" + name))
        return issued
    }

    /// A provider node store hosting `codes`, each with `count` residents.
    func makeStore(_ name: String, hosting codes: [MunicipalityCode], residents count: Int = 5) throws -> NodeStore {
        let directory = NodeDirectory(dir.file("nodes/" + name))
        try NodeStore.initialize(at: directory, logger: logger)
        let store = try NodeStore.open(directory, logger: logger)
        for code in codes {
            let partition = try store.tenant(try store.addTenant(code, name: "tenant \(code)").code)
            let generated = people(code, count: count, seed: UInt64(code.rawValue)!)
            _ = try partition.upsertResidents(generated.map(\.resident))
            _ = try partition.upsertVaccinations(generated.flatMap(\.vaccinations))
        }
        return store
    }

    /// A node configuration using certificate NAME (issued before).
    func config(_ name: String, data: String = "/nonexistent", directory: String? = nil,
                revocations: String? = nil, port: Int = 0, callTimeout: Double = 30) -> NodeConfig {
        NodeConfig(dataDirectory: data, listenHost: "127.0.0.1", listenPort: port,
                   certificatePath: dir.file("certs/\(name)/\(name).pem"),
                   privateKeyPath: dir.file("certs/\(name)/\(name).key"),
                   caCertificatePath: caPath, revocationListPath: revocations,
                   directoryPath: directory ?? dir.file("directory.json"),
                   limits: .init(callTimeoutSeconds: callTimeout))
    }

    /// Signs a directory mapping each code to (port, certificate) and writes it.
    func signDirectory(_ entries: [MunicipalityCode: (port: Int, certificate: IssuedCertificate)],
                       to name: String = "directory.json", expiresAt: Date = Date().addingTimeInterval(day)) throws -> String {
        var map: [MunicipalityCode: DirectoryEntry] = [:]
        for (code, e) in entries {
            map[code] = DirectoryEntry(nodeName: e.certificate.name, host: "127.0.0.1", port: e.port,
                                       spkiSHA256: try e.certificate.info.spkiSHA256)
        }
        let bytes = try SignedDirectory.sign(map, ca: ca, issuedAt: Date().addingTimeInterval(-60), expiresAt: expiresAt)
        let path = dir.file(name)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}

/// Runs a provider server for `config` and `store` while `body` runs; passes its port.
func withProvider<T: Sendable>(
    _ config: NodeConfig, store: NodeStore, metrics: PeerMetrics, logger: Logger = Logger(label: "test.provider"),
    _ body: @Sendable (Int) async throws -> T
) async throws -> T {
    let server = try PeerServer.make(config: config, store: store, logger: logger, metrics: metrics)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        defer { server.beginGracefulShutdown() }
        guard let port = try await server.listeningAddress?.ipv4?.port else {
            throw PeerError(.connection, "the test server did not report a port")
        }
        let result = try await body(port)
        server.beginGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}

/// A raw TransferInquiry call over the requester's verified transport, for
/// requests the typed client would refuse to build.
func rawInquire(_ request: Renkei_V1_TransferInquiryRequest, route: PeerRoute, config: NodeConfig,
                timeout: Duration = .seconds(30)) async throws -> Renkei_V1_TransferInquiryResponse {
    let trust = try PeerTrust.load(config)
    let transport = try TransferInquiryClient.makeTransport(route: route, config: config, trust: trust, failures: HandshakeFailureLog())
    var options = CallOptions.defaults
    options.timeout = timeout
    options.waitForReady = false
    return try await withGRPCClient(transport: transport) { client in
        try await Renkei_V1_TransferInquiry.Client(wrapping: client).inquire(request, options: options)
    }
}

/// The RPC status code inside a PeerError, if any.
func rpcCode(_ error: PeerError) -> RPCError.Code? { (error.cause as? RPCError)?.code }

/// Runs `body` and returns the PeerError it throws (nil if it does not throw one).
func peerError(_ body: () async throws -> Void) async -> PeerError? {
    do { try await body() } catch let e as PeerError { return e } catch { return PeerError(.connection, "\(error)") }
    return nil
}

/// A valid request about `number`, from `requester` to `target`.
func request(number: String, requester: MunicipalityCode = izumo, target: MunicipalityCode = matsue) -> Renkei_V1_TransferInquiryRequest {
    var r = Renkei_V1_TransferInquiryRequest()
    r.requestID = UUID().uuidString.lowercased()
    r.requesterCode = requester.rawValue
    r.targetCode = target.rawValue
    r.individualNumber = number
    r.purpose = .transferIn
    r.consentReference = "consent-001"
    r.sentAtUnixMillis = Int64(Date().timeIntervalSince1970 * 1000)
    return r
}

/// The serialized size of a message, in bytes.
func wireSize(_ message: some SwiftProtobuf.Message) throws -> Int {
    let bytes: [UInt8] = try message.serializedBytes()
    return bytes.count
}
