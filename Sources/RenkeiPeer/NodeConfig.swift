import Foundation
import RenkeiBackup
import RenkeiObservability

/// The configuration of a node process (`renkei node --config FILE`), read
/// from JSON. Relative paths are resolved against the configuration file's
/// directory.
public struct NodeConfig: Sendable, Codable, Equatable {
    /// The node data directory (`renkei init --data`).
    public var dataDirectory: String
    /// The address the peer API listens on.
    public var listenHost: String
    /// The port the peer API listens on (0: any free port).
    public var listenPort: Int
    /// The node's certificate (PEM), issued by the federation CA.
    public var certificatePath: String
    /// The node's private key (PEM, 0600).
    public var privateKeyPath: String
    /// The federation CA certificate (PEM): the only trust anchor.
    public var caCertificatePath: String
    /// The signed revocation list, if the federation publishes one.
    public var revocationListPath: String?
    /// The signed federation directory.
    public var directoryPath: String
    /// The admin API's unix socket (operator commands against the running
    /// node). Default: `<dataDirectory>/admin.sock`.
    public var adminSocketPath: String?
    /// Limits of the peer API.
    public var limits: Limits
    /// Continuous backup to a vault; nil: the node keeps no remote backup.
    public var vault: VaultSettings?
    /// Operator accounts and sessions; defaults if absent.
    public var access: AccessSettings
    /// The metrics, health and readiness endpoint (`/metrics`, `/healthz`,
    /// `/readyz`) on its own port; none if absent.
    public var metrics: ObservabilitySettings?
    /// Tenant data-key re-encryption pacing (`keys`).
    public var keys: KeySettings

    /// Limits of the peer API.
    public struct Limits: Sendable, Codable, Equatable {
        /// Largest message accepted, either direction (the contract's 4 MiB).
        public var maxMessageBytes: Int
        /// Concurrent HTTP/2 streams per connection.
        public var maxConcurrentStreams: Int
        /// Deadline of an outgoing unary inquiry, in seconds.
        public var callTimeoutSeconds: Double
        /// InquireBulk streams one requester municipality may have open at
        /// once; one more fails at once with RESOURCE_EXHAUSTED.
        public var bulkStreamsPerRequester: Int
        /// Bulk items per second one requester municipality may have
        /// answered (a token bucket holding one second's worth); batches
        /// over the rate wait, they are not refused.
        public var bulkItemsPerSecondPerRequester: Int
        /// Bulk batches processed at once across all streams. Fewer than the
        /// cores, so single inquiries always find CPU.
        public var bulkWorkers: Int

        /// The default of `bulkWorkers`: one core left for everything else.
        public static var defaultBulkWorkers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount - 1) }

        /// What the transport itself accepts: twice `maxMessageBytes`, so
        /// that messages between the two get RESOURCE_EXHAUSTED from the
        /// service rather than the transport's stream reset.
        public var transportCeilingBytes: Int { maxMessageBytes.multipliedReportingOverflow(by: 2).overflow ? Int.max : maxMessageBytes * 2 }

        public init(maxMessageBytes: Int = 4 * 1024 * 1024, maxConcurrentStreams: Int = 64, callTimeoutSeconds: Double = 10,
                    bulkStreamsPerRequester: Int = 4, bulkItemsPerSecondPerRequester: Int = 200_000,
                    bulkWorkers: Int = Limits.defaultBulkWorkers) {
            self.maxMessageBytes = maxMessageBytes
            self.maxConcurrentStreams = maxConcurrentStreams
            self.callTimeoutSeconds = callTimeoutSeconds
            self.bulkStreamsPerRequester = bulkStreamsPerRequester
            self.bulkItemsPerSecondPerRequester = bulkItemsPerSecondPerRequester
            self.bulkWorkers = bulkWorkers
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Limits()
            maxMessageBytes = try c.decodeIfPresent(Int.self, forKey: .maxMessageBytes) ?? d.maxMessageBytes
            maxConcurrentStreams = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentStreams) ?? d.maxConcurrentStreams
            callTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .callTimeoutSeconds) ?? d.callTimeoutSeconds
            bulkStreamsPerRequester = try c.decodeIfPresent(Int.self, forKey: .bulkStreamsPerRequester) ?? d.bulkStreamsPerRequester
            bulkItemsPerSecondPerRequester = try c.decodeIfPresent(Int.self, forKey: .bulkItemsPerSecondPerRequester)
                ?? d.bulkItemsPerSecondPerRequester
            bulkWorkers = try c.decodeIfPresent(Int.self, forKey: .bulkWorkers) ?? d.bulkWorkers
        }
    }

    public init(dataDirectory: String, listenHost: String = "127.0.0.1", listenPort: Int = 7443,
                certificatePath: String, privateKeyPath: String, caCertificatePath: String,
                revocationListPath: String? = nil, directoryPath: String, adminSocketPath: String? = nil,
                limits: Limits = Limits(), vault: VaultSettings? = nil, access: AccessSettings = AccessSettings(),
                metrics: ObservabilitySettings? = nil, keys: KeySettings = KeySettings()) {
        self.dataDirectory = dataDirectory
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.caCertificatePath = caCertificatePath
        self.revocationListPath = revocationListPath
        self.directoryPath = directoryPath
        self.adminSocketPath = adminSocketPath
        self.limits = limits
        self.vault = vault
        self.access = access
        self.metrics = metrics
        self.keys = keys
    }

    /// Where the admin socket is: `adminSocketPath`, else `<dataDirectory>/admin.sock`.
    public var adminSocket: String { adminSocketPath ?? dataDirectory + "/admin.sock" }

    enum CodingKeys: String, CodingKey {
        case dataDirectory, listenHost, listenPort, certificatePath, privateKeyPath
        case caCertificatePath, revocationListPath, directoryPath, adminSocketPath, limits, vault, access, metrics, keys
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        dataDirectory = try c.decode(String.self, forKey: .dataDirectory)
        listenHost = try c.decodeIfPresent(String.self, forKey: .listenHost) ?? "127.0.0.1"
        listenPort = try c.decodeIfPresent(Int.self, forKey: .listenPort) ?? 7443
        certificatePath = try c.decode(String.self, forKey: .certificatePath)
        privateKeyPath = try c.decode(String.self, forKey: .privateKeyPath)
        caCertificatePath = try c.decode(String.self, forKey: .caCertificatePath)
        revocationListPath = try c.decodeIfPresent(String.self, forKey: .revocationListPath)
        directoryPath = try c.decode(String.self, forKey: .directoryPath)
        adminSocketPath = try c.decodeIfPresent(String.self, forKey: .adminSocketPath)
        limits = try c.decodeIfPresent(Limits.self, forKey: .limits) ?? Limits()
        vault = try c.decodeIfPresent(VaultSettings.self, forKey: .vault)
        access = try c.decodeIfPresent(AccessSettings.self, forKey: .access) ?? AccessSettings()
        metrics = try c.decodeIfPresent(ObservabilitySettings.self, forKey: .metrics)
        keys = try c.decodeIfPresent(KeySettings.self, forKey: .keys) ?? KeySettings()
    }

    /// Reads the configuration at `path`, resolving relative paths against its directory.
    public static func load(contentsOf path: String) throws(PeerError) -> NodeConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw PeerError(.configuration, "cannot read node configuration \(path)", cause: error)
        }
        var config: NodeConfig
        do {
            config = try JSONDecoder().decode(NodeConfig.self, from: data)
        } catch {
            throw PeerError(.configuration, "\(path) is not a valid node configuration: \(error)")
        }
        guard (0...65_535).contains(config.listenPort) else {
            throw PeerError(.configuration, "\(path): listenPort must be between 0 and 65535")
        }
        guard config.limits.maxMessageBytes > 0, config.limits.maxConcurrentStreams > 0, config.limits.callTimeoutSeconds > 0,
              config.limits.bulkStreamsPerRequester > 0, config.limits.bulkItemsPerSecondPerRequester > 0,
              config.limits.bulkWorkers > 0 else {
            throw PeerError(.configuration, "\(path): limits must be positive")
        }
        if let metrics = config.metrics, !(0...65_535).contains(metrics.port) {
            throw PeerError(.configuration, "\(path): metrics.port must be between 0 and 65535")
        }
        if let broken = config.access.brokenRule() {
            throw PeerError(.configuration, "\(path): \(broken)")
        }
        if let broken = config.keys.brokenRule() {
            throw PeerError(.configuration, "\(path): \(broken)")
        }
        if let vault = config.vault {
            do throws(BackupError) {
                try vault.validate()
            } catch {
                throw PeerError(.configuration, "\(path): \(error.message)")
            }
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent().path
        config.resolvePaths(relativeTo: base)
        return config
    }

    /// Makes every relative path absolute, relative to `base`.
    public mutating func resolvePaths(relativeTo base: String) {
        func resolve(_ p: String) -> String { p.hasPrefix("/") ? p : base + "/" + p }
        dataDirectory = resolve(dataDirectory)
        certificatePath = resolve(certificatePath)
        privateKeyPath = resolve(privateKeyPath)
        caCertificatePath = resolve(caCertificatePath)
        revocationListPath = revocationListPath.map(resolve)
        directoryPath = resolve(directoryPath)
        adminSocketPath = adminSocketPath.map(resolve)
    }

    /// Writes the configuration as pretty JSON.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}
