import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RenkeiPKI
import RenkeiWire

/// Where a vault listens, and the name its certificate must carry.
public struct VaultEndpoint: Sendable, Equatable, Codable, CustomStringConvertible {
    /// An IPv4/IPv6 literal or a DNS name.
    public var host: String
    public var port: Int
    /// The vault certificate's common name or one of its DNS names; nil: any
    /// certificate with role vault from the federation CA is accepted.
    public var serverName: String?

    public init(host: String, port: Int, serverName: String? = nil) {
        self.host = host
        self.port = port
        self.serverName = serverName
    }

    public var description: String {
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return "\(hostPart):\(port)" + (serverName.map { " (\($0))" } ?? "")
    }

    /// Where gRPC connects: an IPv6 or IPv4 literal as such, anything else as a DNS name.
    var resolvableTarget: any ResolvableTarget {
        if host.contains(":") { return .ipv6(address: host, port: port) }
        if host.split(separator: ".").count == 4 && host.allSatisfy({ $0.isNumber || $0 == "." }) {
            return .ipv4(address: host, port: port)
        }
        return .dns(host: host, port: port)
    }
}

/// The client side's TLS material: its own certificate (a node's or a DR
/// operator's) and key, and the federation trust.
public struct VaultClientCredentials: Sendable {
    /// The client certificate (PEM); its chain if intermediates are used.
    public var certificatePath: String
    /// The client's private key (PEM).
    public var privateKeyPath: String
    /// The federation CA and revocation list the vault's certificate is checked against.
    public var trust: VaultTrust
    /// The client's certificate and key as checked and reloaded for each new
    /// connection (a renewed node certificate is used by the next one);
    /// nil: each connection reads the files as they are.
    public var reloader: OwnCredentialsReloader?

    public init(certificatePath: String, privateKeyPath: String, trust: VaultTrust, reloader: OwnCredentialsReloader? = nil) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.trust = trust
        self.reloader = reloader
    }

    /// Loads the trust from `caCertificatePath` and `revocationListPath`, and
    /// the certificate and key if they can be read now (else they are read
    /// at each connection).
    public init(certificatePath: String, privateKeyPath: String, caCertificatePath: String,
                revocationListPath: String? = nil) throws(VaultNetworkError) {
        let trust = try VaultTrust(caCertificatePath: caCertificatePath, revocationListPath: revocationListPath)
        self.init(certificatePath: certificatePath, privateKeyPath: privateKeyPath, trust: trust,
                  reloader: try? OwnCredentialsReloader.vault(certificatePath: certificatePath, privateKeyPath: privateKeyPath,
                                                              role: nil, trust: trust, logger: Logger(label: "renkei.vault.client")))
    }
}

/// The client transport to a vault, for the node's shipper and for DR
/// restore: gRPC over HTTP/2, TLS 1.3 only, mutual TLS with the given
/// certificate, the federation CA as the only trust anchor, the revocation
/// list checked, and — inside the handshake — the server's certificate must
/// have role vault (`urn:renkei:role:vault`) and, if the endpoint names one,
/// the expected name. A refused server never receives a byte of a request.
///
/// Callers use the typed `Renkei_Vault_V1_Vault.Client`:
///
///     try await VaultTransport.withClient(endpoint, credentials: creds) { vault in
///         let status = try await vault.status(.init())
///     }
public enum VaultTransport {
    /// Largest message either direction: the contract's 4 MiB plus a margin
    /// for the framing of a full ShipRequest or FileChunk.
    public static let maxMessageBytes = WireLimits.maxMessageBytes + 64 * 1024

    /// Per-call options: the message limits, and fail at once rather than
    /// wait for a vault that is down or refused in the handshake (the
    /// shipper retries on its own schedule). Also the transport's default
    /// service config, so plain calls get them too.
    public static var callOptions: CallOptions {
        var options = CallOptions.defaults
        options.maxRequestMessageBytes = maxMessageBytes
        options.maxResponseMessageBytes = maxMessageBytes
        options.waitForReady = false
        return options
    }

    /// The HTTP/2 client transport to `endpoint`. `log` records why a
    /// handshake was refused.
    public static func makeTransport(_ endpoint: VaultEndpoint, credentials: VaultClientCredentials,
                                     log: VaultHandshakeLog = VaultHandshakeLog()) throws(VaultNetworkError) -> HTTP2ClientTransport.Posix {
        for (path, what) in [(credentials.certificatePath, "client certificate"), (credentials.privateKeyPath, "client private key")]
        where !FileManager.default.isReadableFile(atPath: path) {
            throw VaultNetworkError(.tlsMaterial, "cannot read the \(what) \(path)")
        }
        var tls: HTTP2ClientTransport.Posix.TransportSecurity.TLS
        if let reloader = credentials.reloader {
            let sources = try VaultTLSSources(credentials: reloader.current(), trust: credentials.trust.trust)
            tls = .init(certificateChain: sources.chain, privateKey: sources.key,
                        // The name is checked by our callback against the certificate's
                        // CN and DNS names; the federation CA bundle anchors the chain.
                        serverCertificateVerification: .noHostnameVerification, trustRoots: sources.roots)
        } else {
            let roots: [TLSConfig.CertificateSource]
            do throws(PKIError) {
                roots = try credentials.trust.trust.certificates.map { certificate throws(PKIError) -> TLSConfig.CertificateSource in
                    .bytes(try CertificateCoding.der(certificate), format: .der)
                }
            } catch {
                throw VaultNetworkError(.tlsMaterial, error.message, cause: error)
            }
            tls = .init(certificateChain: [.file(path: credentials.certificatePath, format: .pem)],
                        privateKey: .file(path: credentials.privateKeyPath, format: .pem),
                        serverCertificateVerification: .noHostnameVerification, trustRoots: .certificates(roots))
        }
        let trust = credentials.trust
        tls.customVerificationCallback = VaultHandshake.callback(
            currentVerifier: { trust.verifier() },
            requirement: VaultPeerRequirement(roles: [.vault], name: endpoint.serverName),
            log: log)
        let methodConfig = MethodConfig(names: [MethodConfig.Name(service: Renkei_Vault_V1_Vault.descriptor.fullyQualifiedService)],
                                        waitForReady: false,
                                        maxRequestMessageBytes: maxMessageBytes, maxResponseMessageBytes: maxMessageBytes)
        do {
            return try HTTP2ClientTransport.Posix(
                target: endpoint.resolvableTarget,
                transportSecurity: .tls(tls),
                config: .defaults { c in
                    c.compression.enabledAlgorithms = .none
                    c.channelDebuggingCallbacks.onCreateTCPConnection = { channel in VaultTLS13Guard.install(on: channel) }
                },
                serviceConfig: ServiceConfig(methodConfig: [methodConfig]))
        } catch {
            throw VaultNetworkError(.tlsMaterial, "cannot set up TLS to the vault at \(endpoint)", cause: VaultErrorDescription(error))
        }
    }

    /// Opens a client to `endpoint`, runs `body` with the typed vault client,
    /// and shuts the connection down gracefully when `body` returns.
    ///
    /// Errors: a refused handshake is `.refusedPeer` naming why (wrong role,
    /// wrong name, untrusted, revoked); an error status from the vault is
    /// `.rpc` with the status and its message (the `RPCError` as cause); any
    /// other failure is `.connection`.
    public static func withClient<Result: Sendable>(
        _ endpoint: VaultEndpoint, credentials: VaultClientCredentials,
        _ body: (Renkei_Vault_V1_Vault.Client<HTTP2ClientTransport.Posix>) async throws -> Result
    ) async throws(VaultNetworkError) -> Result {
        let log = VaultHandshakeLog()
        let transport = try makeTransport(endpoint, credentials: credentials, log: log)
        do {
            return try await withGRPCClient(transport: transport) { client in
                try await body(Renkei_Vault_V1_Vault.Client(wrapping: client))
            }
        } catch let error as VaultNetworkError {
            throw error
        } catch let error as RPCError {
            if let refused = log.lastFailure { throw refused }
            throw VaultNetworkError(.rpc, "the vault at \(endpoint) answered \(error.code): \(error.message)", cause: error)
        } catch {
            if let refused = log.lastFailure { throw refused }
            throw VaultNetworkError(.connection, "the call to the vault at \(endpoint) failed", cause: VaultErrorDescription(error))
        }
    }
}
