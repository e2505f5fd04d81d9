import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RenkeiCore
import RenkeiPKI
import RenkeiVault
import RenkeiWire
@testable import RenkeiVaultServer

let matsue = try! MunicipalityCode("322016")
let izumo = try! MunicipalityCode("322032")

/// A scratch directory removed at the end of the test.
final class TempDir: Sendable {
    let path = NSTemporaryDirectory() + "renkei-vaultsrv-\(UUID().uuidString)"
    init() throws { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(atPath: path) }
    func file(_ name: String) -> String { path + "/" + name }
}

/// A throwaway federation: a CA and certificates issued from it, each
/// written to DIR/certs/NAME/{NAME.pem,NAME.key,ca.pem}.
final class TestFederation: Sendable {
    let dir: TempDir
    let ca: FederationCA

    init() throws {
        dir = try TempDir()
        ca = try FederationCA.create(name: "Test Federation CA", validDays: 365)
        try CADirectory(dir.file("ca")).create(ca)
    }

    var caPath: String { dir.file("ca/ca.pem") }

    @discardableResult
    func issue(_ name: String, role: PKIRole, codes: [MunicipalityCode] = [], by issuer: FederationCA? = nil) throws -> IssuedCertificate {
        let request = CertificateRequest(name: name, role: role, municipalityCodes: role == .node && codes.isEmpty ? [matsue] : codes,
                                         dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"], validDays: 30)
        let issued = try (issuer ?? ca).issue(request)
        try issued.write(to: dir.file("certs/" + name))
        return issued
    }

    func certificatePath(_ name: String) -> String { dir.file("certs/\(name)/\(name).pem") }
    func keyPath(_ name: String) -> String { dir.file("certs/\(name)/\(name).key") }

    /// Client credentials for certificate NAME (issued before).
    func credentials(_ name: String) throws -> VaultClientCredentials {
        try VaultClientCredentials(certificatePath: certificatePath(name), privateKeyPath: keyPath(name), caCertificatePath: caPath)
    }

    /// A vault configuration using certificate NAME, storing under DIR/vault-data.
    func vaultConfig(_ name: String = "vault", limits: VaultConfig.Limits = .init()) -> VaultConfig {
        VaultConfig(name: name, listenHost: "127.0.0.1", listenPort: 0, dataDirectory: dir.file("vault-data"),
                    certificatePath: certificatePath(name), privateKeyPath: keyPath(name), caCertificatePath: caPath,
                    limits: limits)
    }
}

/// Runs a vault server for `config` while `body` runs; passes its endpoint
/// and the store. `checkOwnRole: false` lets a test run a server with a
/// certificate that is not a vault's.
func withVault<T: Sendable>(
    _ config: VaultConfig, fed: TestFederation, checkOwnRole: Bool = true,
    _ body: @Sendable (VaultEndpoint, VaultStore) async throws -> T
) async throws -> T {
    let logger = Logger(label: "test.vault")
    let store = try VaultStore.open(root: config.dataDirectory, limits: config.limits.storeLimits, logger: logger)
    let trust = try VaultTrust(caCertificatePath: config.caCertificatePath, revocationListPath: config.revocationListPath)
    let server = try VaultServer.make(config: config, store: store, trust: trust, logger: logger, checkOwnRole: checkOwnRole)
    return try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await server.serve() }
        defer { server.beginGracefulShutdown() }
        guard let port = try await server.listeningAddress?.ipv4?.port else {
            throw VaultNetworkError(.connection, "the test server did not report a port")
        }
        let result = try await body(VaultEndpoint(host: "127.0.0.1", port: port), store)
        server.beginGracefulShutdown()
        try await group.waitForAll()
        return result
    }
}

func record(_ seq: UInt64, bytes: Int = 16) -> Renkei_Vault_V1_ChangeRecord {
    var r = Renkei_Vault_V1_ChangeRecord()
    r.seq = seq
    r.commitTimeUnixMillis = 1_700_000_000_000 + seq
    r.payload = Data((0..<bytes).map { UInt8(truncatingIfNeeded: Int(seq) &* 31 &+ $0) })
    return r
}

func shipRequest(_ seqs: ClosedRange<UInt64>?, bytes: Int = 16) -> Renkei_Vault_V1_ShipRequest {
    var r = Renkei_Vault_V1_ShipRequest()
    r.records = seqs.map { $0.map { record($0, bytes: bytes) } } ?? []
    return r
}

/// Sends `requests` on one Ship stream and returns every ack's last_seq.
func ship(_ vault: Renkei_Vault_V1_Vault.Client<HTTP2ClientTransport.Posix>,
          _ requests: [Renkei_Vault_V1_ShipRequest], options: CallOptions = VaultTransport.callOptions) async throws -> [UInt64] {
    try await vault.ship(request: StreamingClientRequest { writer in
        for r in requests { try await writer.write(r) }
    }, options: options) { response in
        var acks: [UInt64] = []
        for try await ack in response.messages { acks.append(ack.lastSeq) }
        return acks
    }
}

/// The RPC status code of an error from `VaultTransport.withClient`.
func rpcCode(_ error: any Error) -> RPCError.Code? {
    if let e = error as? VaultNetworkError { return (e.cause as? RPCError)?.code }
    return (error as? RPCError)?.code
}

/// Runs `body` and returns what it throws (nil if nothing).
func thrown(_ body: () async throws -> Void) async -> (any Error)? {
    do { try await body() } catch { return error }
    return nil
}

func sha256Hex(_ bytes: some DataProtocol) -> String {
    SHA256.hash(data: Array(bytes)).map { String(format: "%02x", $0) }.joined()
}
