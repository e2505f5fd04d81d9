import Foundation
import GRPCCore
import RenkeiWire

/// `renkei.v1.Health/Check`: serving, the contract versions and the node's
/// clock (for skew checks). It never lists the hosted codes.
public struct HealthService: Renkei_V1_Health.SimpleServiceProtocol {
    public init() {}

    public func check(request: Renkei_V1_HealthCheckRequest, context: ServerContext) async throws -> Renkei_V1_HealthCheckResponse {
        var response = Renkei_V1_HealthCheckResponse()
        response.status = .serving
        response.protocolVersions = [WireLimits.protocolVersion]
        response.serverTimeUnixMillis = Int64((Date().timeIntervalSince1970 * 1000).rounded())
        return response
    }
}
