import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOSSL
import RenkeiPKI
import RenkeiWire
import Synchronization
import Testing
import X509
@testable import RenkeiVaultServer

/// The last server serial a client handshake saw.
final class SeenSerial: Sendable {
    private let seen = Mutex<SerialNumber?>(nil)
    var value: SerialNumber? { seen.withLock { $0 } }
    func set(_ serial: SerialNumber) { seen.withLock { $0 = serial } }
}

/// The vault serves a renewed certificate to new connections without a
/// restart and refuses a replacement that is not a vault's (ADR 0010).
@Suite struct VaultCertificateReloadTests {
    let fed: TestFederation

    init() throws {
        fed = try TestFederation()
    }

    /// Moves certificate NAME's files over the files of certificate TARGET, by rename.
    func install(_ name: String, as target: String) throws {
        for (from, to) in [(fed.keyPath(name), fed.keyPath(target)), (fed.certificatePath(name), fed.certificatePath(target))] {
            try #require(rename(from, to) == 0, "rename \(from) -> \(to)")
        }
    }

    /// One Health check on a fresh connection as node-a; the vault serial its handshake saw.
    func vaultSerial(_ endpoint: VaultEndpoint) async throws -> SerialNumber? {
        let seen = SeenSerial()
        let verifier = PeerVerifier(trust: fed.ca.trust)
        var tls = HTTP2ClientTransport.Posix.TransportSecurity.TLS(
            certificateChain: [.file(path: fed.certificatePath("node-a"), format: .pem)],
            privateKey: .file(path: fed.keyPath("node-a"), format: .pem),
            serverCertificateVerification: .noHostnameVerification,
            trustRoots: .certificates([]))
        tls.customVerificationCallback = { certificates, promise in
            guard let leaf = try? certificates.first?.toDERBytes() else {
                promise.succeed(.failed)
                return
            }
            Task {
                do {
                    let chain = try await VaultHandshake.verify(leaf: leaf, intermediates: [], verifier: verifier,
                                                                requirement: VaultPeerRequirement(roles: [.vault]))
                    let serial = try PeerCertificateInfo(bytes: leaf, source: "vault").serial
                    seen.set(serial)
                    promise.succeed(.certificateVerified(VerificationMetadata(ValidatedCertificateChain(chain))))
                } catch {
                    promise.succeed(.failed)
                }
            }
        }
        let transport = try HTTP2ClientTransport.Posix(
            target: .ipv4(address: endpoint.host, port: endpoint.port), transportSecurity: .tls(tls),
            config: .defaults { $0.compression.enabledAlgorithms = .none })
        var options = CallOptions.defaults
        options.timeout = .seconds(30)
        options.waitForReady = false
        let status = try await withGRPCClient(transport: transport) { client in
            try await Renkei_V1_Health.Client(wrapping: client).check(Renkei_V1_HealthCheckRequest(), options: options).status
        }
        #expect(status == .serving)
        return seen.value
    }

    @Test func vaultServesItsRenewedCertificateAndRefusesANonVaultOne() async throws {
        let first = try fed.issue("vault", role: .vault)
        let renewed = try fed.issue("vault-renewed", role: .vault)
        try fed.issue("node-a", role: .node)
        try fed.issue("node-b", role: .node)
        let firstSerial = try first.info.serial, renewedSerial = try renewed.info.serial
        try await withVault(fed.vaultConfig(), fed: fed) { endpoint, _ in
            #expect(try await vaultSerial(endpoint) == firstSerial)
            try install("vault-renewed", as: "vault")
            #expect(try await vaultSerial(endpoint) == renewedSerial, "a new connection gets the renewed certificate")
            // A node's certificate is not a vault's: refused, the renewed one stays.
            try install("node-b", as: "vault")
            #expect(try await vaultSerial(endpoint) == renewedSerial)
        }
    }

    @Test func clientCredentialsPickUpARenewedNodeCertificate() throws {
        let first = try fed.issue("node-a", role: .node)
        let renewed = try fed.issue("node-a-renewed", role: .node)
        let credentials = try fed.credentials("node-a")
        let reloader = try #require(credentials.reloader)
        #expect(reloader.current().serial == (try first.info.serial))
        try install("node-a-renewed", as: "node-a")
        #expect(reloader.current().serial == (try renewed.info.serial))
        // A key that does not match is refused; the renewed certificate stays.
        try fed.issue("node-c", role: .node)
        try #require(rename(fed.keyPath("node-c"), fed.keyPath("node-a")) == 0)
        #expect(reloader.current().serial == (try renewed.info.serial))
        #expect(reloader.refusals == 1)
    }
}
