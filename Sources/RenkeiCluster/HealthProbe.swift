import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiCore
import RenkeiPKI
import RenkeiPeer
import RenkeiWire

/// Asks a node `renkei.v1.Health/Check` the way a peer would: mutual TLS
/// with the node's own certificate (Health, like every call, requires a
/// client certificate), and the server's certificate checked in the
/// handshake against the federation CA, the revocation list and one of the
/// node's municipality codes.
public enum HealthProbe {
    /// What a node answered.
    public struct Answer: Sendable, Equatable {
        /// `SERVING`, or the status name the node gave.
        public let status: String
        /// The contract versions it speaks (`renkei.v1`).
        public let protocolVersions: [String]
        /// Whether it is serving.
        public var isServing: Bool { status == "SERVING" }
    }

    /// Checks the node configured by `configPath` at its own listen address,
    /// expecting its certificate to carry `code`.
    public static func check(configPath: String, code: String,
                             timeout: Duration = .seconds(3)) async throws(ClusterError) -> Answer {
        let config: NodeConfig
        let trust: PeerTrust
        let expected: MunicipalityCode
        do throws(PeerError) {
            config = try NodeConfig.load(contentsOf: configPath)
            trust = try PeerTrust.load(config)
            do throws(ValidationError) { expected = try MunicipalityCode(code) } catch {
                throw PeerError(.invalidInput, "code: \(error.message)")
            }
        } catch {
            throw ClusterError(.health, error.description)
        }
        let failures = HandshakeFailureLog()
        var tls = HTTP2ClientTransport.Posix.TransportSecurity.TLS(
            certificateChain: [.file(path: config.certificatePath, format: .pem)],
            privateKey: .file(path: config.privateKeyPath, format: .pem),
            serverCertificateVerification: .noHostnameVerification,
            trustRoots: .certificates([.file(path: config.caCertificatePath, format: .pem)]))
        tls.customVerificationCallback = PeerVerification.callback(
            verifier: trust.verifier, requirement: PeerRequirement(code: expected), failures: failures)
        let host = config.listenHost, port = config.listenPort
        let target: any ResolvableTarget = host.contains(":") ? .ipv6(address: host, port: port) : .ipv4(address: host, port: port)
        let endpoint = ClusterSpec.endpoint(host: host, port: port)
        var options = CallOptions.defaults
        options.timeout = timeout
        options.waitForReady = false
        do {
            let transport = try HTTP2ClientTransport.Posix(
                target: target, transportSecurity: .tls(tls),
                config: .defaults { $0.compression.enabledAlgorithms = .none })
            let response = try await withGRPCClient(transport: transport) { client in
                try await Renkei_V1_Health.Client(wrapping: client).check(Renkei_V1_HealthCheckRequest(), options: options)
            }
            let status: String
            switch response.status {
            case .serving: status = "SERVING"
            default: status = "\(response.status)"
            }
            return Answer(status: status, protocolVersions: response.protocolVersions)
        } catch {
            if let refused = failures.lastFailure {
                throw ClusterError(.health, "\(endpoint): \(refused.message)")
            }
            if let rpc = error as? RPCError {
                throw ClusterError(.health, "\(endpoint) answered \(rpc.code): \(rpc.message)")
            }
            throw ClusterError(.health, "\(endpoint): health check failed", cause: SendableText(String(describing: error)))
        }
    }

    /// Checks until the node serves or `timeout` passes; returns the answer
    /// or throws the last failure.
    public static func waitUntilServing(configPath: String, code: String, timeout: Duration,
                                        stillRunning: () -> Bool) async throws(ClusterError) -> Answer {
        let deadline = ContinuousClock.now + timeout
        var last = ClusterError(.health, "no answer")
        while ContinuousClock.now < deadline {
            do throws(ClusterError) {
                let answer = try await check(configPath: configPath, code: code, timeout: .seconds(2))
                if answer.isServing { return answer }
                last = ClusterError(.health, "answered \(answer.status)")
            } catch {
                last = error
            }
            guard stillRunning() else {
                throw ClusterError(.start, "the node process ended before it served (\(last.message))")
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        throw ClusterError(.start, "not serving after \(timeout): \(last.message)")
    }

    /// Whether something accepts TCP connections on `host:port` (IPv4 or
    /// IPv6 literal), within the kernel's loopback connect time.
    public static func acceptsConnections(host: String, port: Int) -> Bool {
        var hints = addrinfo()
        hints.ai_flags = AI_NUMERICHOST
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let info = result else { return false }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0
    }
}
