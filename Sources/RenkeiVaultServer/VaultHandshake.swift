import Foundation
import NIOCore
import NIOSSL
import NIOTLS
import RenkeiPKI
import Synchronization

/// What the certificate presented in a vault handshake must be, beyond
/// chaining to the federation CA, being valid now and not revoked.
public struct VaultPeerRequirement: Sendable, Equatable {
    /// The roles accepted (a client connecting to a vault requires `.vault`;
    /// the vault accepts `.node` and `.drOperator`).
    public var roles: Set<PKIRole>
    /// A name the certificate must carry as its common name or a DNS name
    /// (the client's `VaultEndpoint.serverName`); nil: any.
    public var name: String?

    public init(roles: Set<PKIRole>, name: String? = nil) {
        self.roles = roles
        self.name = name
    }
}

/// Why the last handshake was refused, so that a caller can say more than
/// "the connection failed".
public final class VaultHandshakeLog: Sendable {
    private let last = Mutex<VaultNetworkError?>(nil)
    public init() {}
    /// The most recent refusal, if any.
    public var lastFailure: VaultNetworkError? { last.withLock { $0 } }
    func record(_ error: VaultNetworkError) { last.withLock { $0 = error } }
}

/// NIOSSL custom verification for vault connections: RenkeiPKI's
/// `PeerVerifier` (federation CA only, validity now, revocation list) plus the
/// role and name requirement, inside the handshake. A refusal fails the
/// handshake, so nothing — no change record, no file — is sent.
public enum VaultHandshake {
    /// The callback NIOSSL calls with the peer's certificates, leaf first.
    /// `currentVerifier` is asked at every handshake, so a reloaded
    /// revocation list applies to the next connection.
    public static func callback(
        currentVerifier: @escaping @Sendable () -> PeerVerifier,
        requirement: VaultPeerRequirement,
        log: VaultHandshakeLog? = nil
    ) -> @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResultWithMetadata>) -> Void {
        { certificates, promise in
            let verifier = currentVerifier()
            let ders: [[UInt8]]
            do {
                ders = try certificates.map { try $0.toDERBytes() }
            } catch {
                log?.record(VaultNetworkError(.refusedPeer, "the peer's certificate could not be read", cause: VaultErrorDescription(error)))
                promise.succeed(.failed)
                return
            }
            guard let leaf = ders.first else {
                log?.record(VaultNetworkError(.refusedPeer, "the peer presented no certificate"))
                promise.succeed(.failed)
                return
            }
            Task {
                do throws(VaultNetworkError) {
                    let chain = try await verify(leaf: leaf, intermediates: Array(ders.dropFirst()),
                                                 verifier: verifier, requirement: requirement)
                    promise.succeed(.certificateVerified(VerificationMetadata(ValidatedCertificateChain(chain))))
                } catch {
                    log?.record(error)
                    promise.succeed(.failed)
                }
            }
        }
    }

    /// Verifies a peer chain (DER) and returns the validated chain, leaf first.
    public static func verify(leaf: [UInt8], intermediates: [[UInt8]], verifier: PeerVerifier,
                              requirement: VaultPeerRequirement, at time: Date = Date()) async throws(VaultNetworkError) -> [NIOSSLCertificate] {
        let verified: VerifiedPeer
        do throws(PKIError) {
            // Role checked below against the accepted set; nil here means
            // "any role" to PeerVerifier, which still checks chain, validity
            // and revocation.
            verified = try await verifier.verify(leaf: leaf, intermediates: intermediates, at: time, role: nil)
        } catch {
            throw VaultNetworkError(.refusedPeer, "the peer's certificate was refused: \(error.message)", cause: error)
        }
        let info = verified.info
        guard let role = info.role, requirement.roles.contains(role) else {
            let expected = requirement.roles.map(\.uri).sorted().joined(separator: " or ")
            throw VaultNetworkError(.refusedPeer,
                "the peer's certificate \(info.name) has role \(info.role?.uri ?? "none"), expected \(expected)")
        }
        if let name = requirement.name, info.name != name, !info.dnsNames.contains(name) {
            throw VaultNetworkError(.refusedPeer,
                "the peer's certificate is for \(info.name), not \(name)")
        }
        do {
            return try verified.chain.map { try NIOSSLCertificate(bytes: CertificateCoding.der($0), format: .der) }
        } catch {
            throw VaultNetworkError(.refusedPeer, "cannot re-encode the validated chain", cause: VaultErrorDescription(error))
        }
    }
}

/// Closes a connection whose handshake settled on anything older than TLS
/// 1.3 (grpc-swift-nio-transport's minimum is 1.2; the federation allows 1.3
/// only). Added right after the NIOSSL handler, it acts on the
/// handshake-completed event, before any application data passes. A copy of
/// RenkeiPeer's internal guard (this module cannot depend on RenkeiPeer).
final class VaultTLS13Guard: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event {
            let version = try? context.pipeline.syncOperations.handler(type: NIOSSLHandler.self).tlsVersion
            if version != .tlsv13 {
                context.close(promise: nil)
                return
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// Installs the guard after the channel's NIOSSL handler.
    static func install(on channel: any Channel) -> EventLoopFuture<Void> {
        channel.eventLoop.makeCompletedFuture {
            let ops = channel.pipeline.syncOperations
            let ssl = try ops.handler(type: NIOSSLHandler.self)
            try ops.addHandler(VaultTLS13Guard(), position: .after(ssl))
        }
    }
}
