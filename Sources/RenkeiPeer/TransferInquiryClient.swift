import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiCore
import RenkeiPKI
import RenkeiWire

/// What a requester asks.
public struct TransferInquiry: Sendable {
    public var requester: MunicipalityCode
    public var target: MunicipalityCode
    public var number: IndividualNumber
    public var purpose: Renkei_V1_Purpose
    public var consentReference: String

    public init(requester: MunicipalityCode, target: MunicipalityCode, number: IndividualNumber,
                purpose: Renkei_V1_Purpose = .transferIn, consentReference: String) {
        self.requester = requester
        self.target = target
        self.number = number
        self.purpose = purpose
        self.consentReference = consentReference
    }

    /// The request as the wire carries it, with a fresh request ID.
    public func request(now: Date = Date()) -> Renkei_V1_TransferInquiryRequest {
        var r = Renkei_V1_TransferInquiryRequest()
        r.requestID = UUID().uuidString.lowercased()
        r.requesterCode = requester.rawValue
        r.targetCode = target.rawValue
        r.individualNumber = number.digits
        r.purpose = purpose
        r.consentReference = consentReference
        r.sentAtUnixMillis = Int64(now.timeIntervalSince1970 * 1000)
        return r
    }
}

/// Where and to whom a requester connects: the endpoint and pinned key the
/// signed directory gives for the target code.
public struct PeerRoute: Sendable {
    public let target: MunicipalityCode
    public let entry: DirectoryEntry

    public init(target: MunicipalityCode, entry: DirectoryEntry) {
        self.target = target
        self.entry = entry
    }

    /// Looks `target` up in the signed directory at `config.directoryPath`,
    /// refusing an unsigned, tampered or expired one.
    public static func lookUp(_ target: MunicipalityCode, config: NodeConfig, trust: FederationTrust, now: Date = Date()) throws(PeerError) -> PeerRoute {
        let directory: Directory
        do throws(PKIError) {
            directory = try SignedDirectory.load(contentsOf: config.directoryPath, trust: trust, now: now)
        } catch {
            throw PeerError(.directory, error.message, cause: error)
        }
        guard let entry = directory.entry(for: target) else {
            throw PeerError(.directory, "the federation directory lists no node for municipality \(target)")
        }
        return PeerRoute(target: target, entry: entry)
    }
}

/// The requester side of `renkei.v1.TransferInquiry`, over mutual TLS with the
/// node's own certificate.
///
/// In the handshake the server's certificate must chain to the federation
/// CA, be valid and unrevoked, carry `urn:renkei:lg:<target>` and have the
/// SPKI the directory pins; otherwise the handshake fails and no request —
/// so no number — is ever written to the connection.
public enum TransferInquiryClient {
    /// Sends one inquiry routed by the signed directory and returns the answer.
    public static func inquire(_ inquiry: TransferInquiry, config: NodeConfig) async throws(PeerError) -> Renkei_V1_TransferInquiryResponse {
        let trust = try PeerTrust.load(config)
        let route = try PeerRoute.lookUp(inquiry.target, config: config, trust: trust.trust)
        return try await inquire(inquiry, route: route, config: config, trust: trust)
    }

    /// Sends one inquiry to `route`.
    public static func inquire(_ inquiry: TransferInquiry, route: PeerRoute, config: NodeConfig,
                               trust: PeerTrust) async throws(PeerError) -> Renkei_V1_TransferInquiryResponse {
        guard route.target == inquiry.target else {
            throw PeerError(.invalidInput, "the route is for \(route.target), the inquiry for \(inquiry.target)")
        }
        do throws(BrokenRule) {
            try InquiryRules.checkConsentReference(inquiry.consentReference, field: "consent_reference")
        } catch {
            throw PeerError(.invalidInput, error.message)
        }
        try checkOwnCertificate(carries: inquiry.requester, config: config, credentials: trust.credentials)
        let failures = HandshakeFailureLog()
        let transport = try makeTransport(route: route, config: config, trust: trust, failures: failures)
        let request = inquiry.request()
        var options = CallOptions.defaults
        options.timeout = .milliseconds(Int64(config.limits.callTimeoutSeconds * 1000))
        options.waitForReady = false
        options.maxResponseMessageBytes = config.limits.maxMessageBytes
        let response: Renkei_V1_TransferInquiryResponse
        do {
            response = try await withGRPCClient(transport: transport) { client in
                try await Renkei_V1_TransferInquiry.Client(wrapping: client).inquire(request, options: options)
            }
        } catch let error as RPCError {
            if let refused = failures.lastFailure { throw refused }
            throw PeerError.peerCall(error, node: route.entry.nodeName, codes: [route.target.rawValue], endpoint: route.entry.endpoint,
                                     timeoutSeconds: config.limits.callTimeoutSeconds)
        } catch {
            if let refused = failures.lastFailure { throw refused }
            throw PeerError(.connection, "the inquiry to \(route.entry.endpoint) failed", cause: SendableDescription(error))
        }
        guard response.requestID == request.requestID else {
            throw PeerError(.protocolViolation, "the provider answered another request ID")
        }
        switch response.outcome {
        case .match where response.hasMatch: return response
        case .noMatch: return response
        default: throw PeerError(.protocolViolation, "the provider's answer has no valid outcome")
        }
    }

    /// Refuses to ask in the name of a municipality our own certificate does
    /// not carry: the provider would deny it, after the number had travelled.
    /// `credentials`: the certificate in use, when a running node supplies it.
    static func checkOwnCertificate(carries requester: MunicipalityCode, config: NodeConfig,
                                    credentials: OwnCredentials? = nil) throws(PeerError) {
        let info: PeerCertificateInfo
        do throws(PKIError) {
            if let credentials {
                info = try PeerCertificateInfo(credentials.leaf)
            } else {
                guard let bytes = FileManager.default.contents(atPath: config.certificatePath) else {
                    throw PKIError(.fileMissing, "cannot read the node certificate \(config.certificatePath)")
                }
                info = try PeerCertificateInfo(bytes: Array(bytes), source: config.certificatePath)
            }
        } catch {
            throw PeerError(.tlsMaterial, error.message, cause: error)
        }
        guard info.carries(requester) else {
            throw PeerError(.invalidInput,
                "--as \(requester): this node's certificate carries \(info.municipalityCodes.map(\.rawValue).joined(separator: ", ")), not \(requester); nothing was sent")
        }
    }

    /// The client transport: our certificate, the federation CA, and the
    /// in-handshake check of the server for the route.
    static func makeTransport(route: PeerRoute, config: NodeConfig, trust: PeerTrust,
                              failures: HandshakeFailureLog) throws(PeerError) -> HTTP2ClientTransport.Posix {
        // The node's current certificate and key (reloaded and checked) when
        // the trust carries them, so a renewal applies to the next connection.
        let material = try trust.clientMaterial(config: config)
        var tls = HTTP2ClientTransport.Posix.TransportSecurity.TLS(
            certificateChain: material.chain,
            privateKey: material.key,
            serverCertificateVerification: .noHostnameVerification,
            trustRoots: material.roots)
        tls.customVerificationCallback = PeerVerification.callback(
            verifier: trust.verifier,
            requirement: PeerRequirement(code: route.target, spkiSHA256: route.entry.spkiSHA256),
            failures: failures)
        do {
            return try HTTP2ClientTransport.Posix(
                target: route.entry.resolvableTarget,
                transportSecurity: .tls(tls),
                config: .defaults { c in
                    c.compression.enabledAlgorithms = .none
                    c.channelDebuggingCallbacks.onCreateTCPConnection = { channel in TLS13Guard.install(on: channel) }
                })
        } catch {
            throw PeerError(.tlsMaterial, "cannot set up TLS to \(route.entry.endpoint)", cause: SendableDescription(error))
        }
    }
}

/// An error's description, for causes whose type is not Sendable.
public struct SendableDescription: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ error: any Error) { description = String(describing: error) }
}

extension DirectoryEntry {
    /// Where gRPC connects for this entry: an IPv6 or IPv4 literal as such,
    /// anything else as a DNS name.
    var resolvableTarget: any ResolvableTarget {
        if host.contains(":") { return .ipv6(address: host, port: port) }
        if host.split(separator: ".").count == 4 && host.allSatisfy({ $0.isNumber || $0 == "." }) {
            return .ipv4(address: host, port: port)
        }
        return .dns(host: host, port: port)
    }
}
