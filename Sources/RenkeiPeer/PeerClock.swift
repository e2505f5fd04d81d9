import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiCore
import RenkeiPKI
import RenkeiWire

/// How far a peer's clock is from ours, estimated from one Health call the
/// way NTP does: the peer read its clock somewhere between our send and our
/// receive, so assume the middle and carry half the round trip as the error.
public struct ClockReading: Sendable, Equatable {
    /// The peer's clock minus ours, in seconds (positive: the peer is ahead).
    public let offsetSeconds: Double
    /// Our send to our receive, in seconds.
    public let roundTripSeconds: Double

    public init(offsetSeconds: Double, roundTripSeconds: Double) {
        self.offsetSeconds = offsetSeconds
        self.roundTripSeconds = roundTripSeconds
    }

    /// The least the skew can be, given the round trip's uncertainty.
    public var skewSecondsMin: Double { max(0, abs(offsetSeconds) - roundTripSeconds / 2) }

    /// The estimate from our send and receive times and the peer's clock in
    /// its answer; nil when the peer sent no time (a node that predates it).
    public static func estimate(sentAt: Date, receivedAt: Date, peerUnixMillis: Int64) -> ClockReading? {
        guard peerUnixMillis > 0 else { return nil }
        let roundTrip = max(0, receivedAt.timeIntervalSince(sentAt))
        let middle = sentAt.timeIntervalSince1970 + roundTrip / 2
        return ClockReading(offsetSeconds: Double(peerUnixMillis) / 1000 - middle, roundTripSeconds: roundTrip)
    }
}

/// Reads a peer's clock through `renkei.v1.Health/Check`, over the same mutual
/// TLS as an inquiry (our certificate; the peer's checked against the CA, the
/// revocation list and the key the directory pins). Nothing personal is sent.
public enum PeerClock {
    public static func read(route: PeerRoute, config: NodeConfig, trust: PeerTrust,
                            timeout: Duration = .seconds(3)) async throws(PeerError) -> ClockReading? {
        let failures = HandshakeFailureLog()
        let transport = try TransferInquiryClient.makeTransport(route: route, config: config, trust: trust, failures: failures)
        var options = CallOptions.defaults
        options.timeout = timeout
        options.waitForReady = false
        let sentAt = Date()
        let response: Renkei_V1_HealthCheckResponse
        do {
            response = try await withGRPCClient(transport: transport) { client in
                try await Renkei_V1_Health.Client(wrapping: client).check(Renkei_V1_HealthCheckRequest(), options: options)
            }
        } catch let error as RPCError {
            if let refused = failures.lastFailure { throw refused }
            throw PeerError(.rpc, "\(route.entry.endpoint) answered \(error.code): \(error.message)", cause: error)
        } catch {
            if let refused = failures.lastFailure { throw refused }
            throw PeerError(.connection, "the health check of \(route.entry.endpoint) failed", cause: SendableDescription(error))
        }
        return ClockReading.estimate(sentAt: sentAt, receivedAt: Date(), peerUnixMillis: response.serverTimeUnixMillis)
    }
}
