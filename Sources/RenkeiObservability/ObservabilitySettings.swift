/// Where the node serves its metrics, health and readiness: its own port,
/// never the peer port, so scraping needs no client certificate and a
/// scraper can never reach the peer protocol.
///
/// The endpoint speaks plain HTTP/1.1, GET only, with bounded responses, at
/// most ``ObservabilityServer/maxConnections`` connections, request heads of
/// at most ``ObservabilityServer/maxRequestHeadBytes`` bytes, and idle
/// connections closed after ``ObservabilityServer/idleTimeoutSeconds``.
/// It serves no personal data, but it is unauthenticated, hence the loopback
/// default: exposing it is an explicit choice in the configuration.
public struct ObservabilitySettings: Sendable, Codable, Equatable {
    /// The address to listen on. Default `127.0.0.1`.
    public var host: String
    /// The port to listen on; 0 lets the system choose a free port (tests).
    /// Default 9464 (the port commonly registered for Prometheus exporters).
    public var port: Int

    public init(host: String = "127.0.0.1", port: Int = 9464) {
        self.host = host
        self.port = port
    }

    private enum CodingKeys: String, CodingKey {
        case host, port
    }

    /// Every key is optional, like the other configuration structs: a key
    /// left out takes its default.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let d = ObservabilitySettings()
        host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
        port = try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port
    }
}
