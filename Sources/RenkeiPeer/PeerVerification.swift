import Foundation
import NIOCore
import NIOSSL
import NIOTLS
import RenkeiCore
import RenkeiPKI
import Synchronization

/// What the certificate presented in a TLS handshake must be, beyond
/// chaining to the federation CA, being valid now and not revoked.
public struct PeerRequirement: Sendable {
    /// A municipality code the certificate must carry (the requester's target).
    public var code: MunicipalityCode?
    /// The SPKI SHA-256 (hex) the directory pins for the peer.
    public var spkiSHA256: String?

    public init(code: MunicipalityCode? = nil, spkiSHA256: String? = nil) {
        self.code = code
        self.spkiSHA256 = spkiSHA256
    }
}

/// Why the last handshake was refused, kept so that a caller can say more
/// than "the connection failed".
public final class HandshakeFailureLog: Sendable {
    private let last = Mutex<PeerError?>(nil)
    public init() {}
    /// The most recent refusal, if any.
    public var lastFailure: PeerError? { last.withLock { $0 } }
    func record(_ error: PeerError) { last.withLock { $0 = error } }
}

/// NIOSSL custom verification: the peer's chain is checked by RenkeiPKI's
/// `PeerVerifier` (federation CA only, validity now, revocation list, node
/// role) and by the requirement, inside the handshake. A refusal fails the
/// handshake, so nothing is sent over the connection.
public enum PeerVerification {
    /// The callback NIOSSL calls with the peer's certificates, leaf first.
    public static func callback(
        verifier: PeerVerifier,
        requirement: PeerRequirement = PeerRequirement(),
        failures: HandshakeFailureLog? = nil
    ) -> @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResultWithMetadata>) -> Void {
        callback(currentVerifier: { verifier }, requirement: requirement, failures: failures)
    }

    /// As `callback(verifier:…)`, asking `currentVerifier` at every handshake,
    /// so a reloaded revocation list applies to the next connection.
    public static func callback(
        currentVerifier: @escaping @Sendable () -> PeerVerifier,
        requirement: PeerRequirement = PeerRequirement(),
        failures: HandshakeFailureLog? = nil
    ) -> @Sendable ([NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResultWithMetadata>) -> Void {
        { certificates, promise in
            let verifier = currentVerifier()
            let ders: [[UInt8]]
            do {
                ders = try certificates.map { try $0.toDERBytes() }
            } catch {
                failures?.record(PeerError(.connection, "the peer's certificate could not be read", cause: error))
                promise.succeed(.failed)
                return
            }
            guard let leaf = ders.first else {
                failures?.record(PeerError(.connection, "the peer presented no certificate"))
                promise.succeed(.failed)
                return
            }
            Task {
                do throws(PeerError) {
                    let chain = try await verify(leaf: leaf, intermediates: Array(ders.dropFirst()),
                                                 verifier: verifier, requirement: requirement)
                    promise.succeed(.certificateVerified(VerificationMetadata(ValidatedCertificateChain(chain))))
                } catch {
                    failures?.record(error)
                    promise.succeed(.failed)
                }
            }
        }
    }

    /// Verifies a peer chain (DER) and returns the validated chain, leaf first.
    public static func verify(leaf: [UInt8], intermediates: [[UInt8]], verifier: PeerVerifier,
                              requirement: PeerRequirement, at time: Date = Date()) async throws(PeerError) -> [NIOSSLCertificate] {
        let verified: VerifiedPeer
        do throws(PKIError) {
            verified = try await verifier.verify(leaf: leaf, intermediates: intermediates, at: time, role: .node,
                                                 requiring: requirement.code)
        } catch {
            let code: PeerError.Code = error.code == .codeNotCarried ? .misrouted : .connection
            throw PeerError(code, "the peer's certificate was refused: \(error.message)", cause: error)
        }
        if let pin = requirement.spkiSHA256, verified.info.spkiSHA256.lowercased() != pin.lowercased() {
            throw PeerError(.misrouted,
                "the peer's certificate \(verified.info.name) is not the one the directory names (SPKI SHA-256 \(verified.info.spkiSHA256), expected \(pin))")
        }
        do {
            return try verified.chain.map { try NIOSSLCertificate(bytes: CertificateCoding.der($0), format: .der) }
        } catch {
            throw PeerError(.connection, "cannot re-encode the validated chain", cause: error)
        }
    }
}

/// Closes a connection whose handshake settled on anything older than TLS
/// 1.3. grpc-swift-nio-transport sets TLS 1.2 as the minimum; the contract
/// allows TLS 1.3 only. Added right after the NIOSSL handler, it acts on the
/// handshake-completed event, before any application data passes.
final class TLS13Guard: ChannelInboundHandler, RemovableChannelHandler {
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
            try ops.addHandler(TLS13Guard(), position: .after(ssl))
        }
    }
}
