import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RenkeiPKI
import RenkeiTenantStore

/// The trust material a connection uses: the federation CA bundle, the
/// signed revocation list if configured, and (for a running node) the node's
/// current certificate and key.
public struct PeerTrust: Sendable {
    public let trust: FederationTrust
    public let revocationList: RevocationList?
    /// The node's own certificate and key as checked by its
    /// `OwnCredentialsReloader`; nil: the client reads the configured files.
    public let credentials: OwnCredentials?

    public init(trust: FederationTrust, revocationList: RevocationList?, credentials: OwnCredentials? = nil) {
        self.trust = trust
        self.revocationList = revocationList
        self.credentials = credentials
    }

    /// Loads the CA and verifies the revocation list against it.
    public static func load(_ config: NodeConfig, now: Date = Date()) throws(PeerError) -> PeerTrust {
        do throws(PKIError) {
            let trust = try FederationTrust(contentsOf: config.caCertificatePath)
            let revocations = try config.revocationListPath.map { path throws(PKIError) in
                try RevocationList.load(contentsOf: path, ca: trust, now: now)
            }
            return PeerTrust(trust: trust, revocationList: revocations)
        } catch {
            throw PeerError(.tlsMaterial, error.message, cause: error)
        }
    }

    /// A verifier anchored at the CA, checking the revocation list.
    public var verifier: PeerVerifier { PeerVerifier(trust: trust, revocationList: revocationList) }
}

/// Builds the node's gRPC server: TransferInquiry and Health over TLS with
/// client certificates required and verified by `PeerVerifier` inside the
/// handshake (federation CA bundle, validity, revocation), TLS 1.3 only, the
/// contract's 4 MiB message limit, no compression. The node's certificate
/// and key are asked of the `TrustSource` at every handshake, so a renewed
/// certificate is served to new connections without a restart (ADR 0010).
public enum PeerServer {
    /// The node's gRPC server type.
    public typealias Server = GRPCServer<HTTP2ServerTransport.Posix>

    /// The server for `config`, serving the tenants of `store`.
    public static func make(config: NodeConfig, store: NodeStore, logger: Logger,
                            metrics: PeerMetrics = PeerMetrics(), trustSource: TrustSource? = nil) throws(PeerError) -> Server {
        let trust: TrustSource
        if let trustSource { trust = trustSource } else { trust = try TrustSource(config: config, logger: logger) }
        let initial = try trust.ownCredentials()
        var tls = HTTP2ServerTransport.Posix.TransportSecurity.TLS(
            certificateChain: try initial.chainSources(),
            privateKey: initial.keySource,
            clientCertificateVerification: .noHostnameVerification,
            trustRoots: try trust.trust.trustRootsSource(),
            requireALPN: false)
        // Both asked at every handshake, so a renewed certificate, a new CA
        // bundle or a new revocation list applies to the next connection
        // without a restart; open connections keep what they started with.
        tls.certificateReloader = NodeCertificateReloader(current: { try? trust.ownCredentials() })
        tls.customVerificationCallback = PeerVerification.callback(currentVerifier: { trust.verifier() })
        let address: GRPCNIOTransportCore.SocketAddress = config.listenHost.contains(":")
            ? .ipv6(host: config.listenHost, port: config.listenPort)
            : .ipv4(host: config.listenHost, port: config.listenPort)
        let limits = config.limits
        let transport = HTTP2ServerTransport.Posix(
            address: address,
            transportSecurity: .tls(tls),
            config: .defaults { c in
                // The transport answers a message over its limit with INTERNAL
                // and a stream reset (grpc-swift-nio-transport drops its own
                // RESOURCE_EXHAUSTED), so it gets twice the contract's limit as
                // a hard ceiling and the services answer RESOURCE_EXHAUSTED for
                // anything between (ADR 0004).
                c.rpc.maxRequestPayloadSize = limits.transportCeilingBytes
                c.http2.maxConcurrentStreams = limits.maxConcurrentStreams
                c.compression.enabledAlgorithms = .none
                c.channelDebuggingCallbacks.onAcceptTCPConnection = { channel in TLS13Guard.install(on: channel) }
            })
        return GRPCServer(transport: transport, services: [
            TransferInquiryService(store: store, logger: logger, metrics: metrics, maxMessageBytes: limits.maxMessageBytes,
                                   bulk: BulkInquiryService(store: store, logger: logger, metrics: metrics,
                                                            limiter: BulkLimiter(limits), maxMessageBytes: limits.maxMessageBytes)),
            HealthService(),
        ])
    }
}
