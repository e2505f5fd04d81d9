import GRPCCore
import RenkeiWire

/// `renkei.v1.Health/Check`: serving, and the contract versions. It never
/// lists the hosted codes.
public struct HealthService: Renkei_V1_Health.SimpleServiceProtocol {
    public init() {}

    public func check(request: Renkei_V1_HealthCheckRequest, context: ServerContext) async throws -> Renkei_V1_HealthCheckResponse {
        var response = Renkei_V1_HealthCheckResponse()
        response.status = .serving
        response.protocolVersions = [WireLimits.protocolVersion]
        return response
    }
}
