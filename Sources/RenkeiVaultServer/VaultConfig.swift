import Foundation
import RenkeiVault

/// The configuration of a vault process (`renkei vault --config FILE`), read
/// from JSON. Every field but the paths has a default; relative paths are
/// resolved against the configuration file's directory.
public struct VaultConfig: Sendable, Codable, Equatable {
    /// The vault's name, for logs (its certificate's common name by convention).
    public var name: String
    /// The address the vault API listens on.
    public var listenHost: String
    /// The port the vault API listens on (0: any free port).
    public var listenPort: Int
    /// The vault's storage root (`VaultStore`), created if missing.
    public var dataDirectory: String
    /// The vault's certificate (PEM, role vault), issued by the federation CA.
    public var certificatePath: String
    /// The vault's private key (PEM, 0600).
    public var privateKeyPath: String
    /// The federation CA certificate (PEM): the only trust anchor.
    public var caCertificatePath: String
    /// The signed revocation list, if the federation publishes one; reloaded when the file changes.
    public var revocationListPath: String?
    /// Change segments are kept at least this many days (and always while a
    /// kept snapshot needs them to roll forward).
    public var keepChangeDays: Int
    /// Base snapshots kept per node, newest first.
    public var keepSnapshots: Int
    /// How often retention runs, in seconds.
    public var retentionIntervalSeconds: Double
    /// Limits of the vault API.
    public var limits: Limits

    /// Limits of the vault API. The contract's own limits (1,000 records and
    /// 4 MiB per ShipRequest, 1 MiB chunks) are the defaults and the maxima.
    public struct Limits: Sendable, Codable, Equatable {
        /// Largest message accepted, either direction (the contract's 4 MiB).
        public var maxMessageBytes: Int
        /// Records in one ShipRequest.
        public var maxRecordsPerShip: Int
        /// Bytes of one FileChunk's data.
        public var maxChunkBytes: Int
        /// Files in one snapshot.
        public var maxSnapshotFiles: Int
        /// Concurrent HTTP/2 streams per connection.
        public var maxConcurrentStreams: Int

        public init(maxMessageBytes: Int = 4 * 1024 * 1024, maxRecordsPerShip: Int = 1_000, maxChunkBytes: Int = 1024 * 1024,
                    maxSnapshotFiles: Int = 100_000, maxConcurrentStreams: Int = 64) {
            self.maxMessageBytes = maxMessageBytes
            self.maxRecordsPerShip = maxRecordsPerShip
            self.maxChunkBytes = maxChunkBytes
            self.maxSnapshotFiles = maxSnapshotFiles
            self.maxConcurrentStreams = maxConcurrentStreams
        }

        /// What the transport itself accepts: twice `maxMessageBytes`, so that
        /// a message between the two gets RESOURCE_EXHAUSTED from the service
        /// rather than the transport's stream reset (as on the node, ADR 0004).
        public var transportCeilingBytes: Int { maxMessageBytes.multipliedReportingOverflow(by: 2).overflow ? Int.max : maxMessageBytes * 2 }

        /// The store limits these imply.
        public var storeLimits: VaultLimits {
            var l = VaultLimits()
            l.maxRecordsPerSegment = max(l.maxRecordsPerSegment, maxRecordsPerShip)
            l.maxSnapshotFiles = maxSnapshotFiles
            l.maxChunkBytes = max(l.maxChunkBytes, maxChunkBytes)
            return l
        }

        enum CodingKeys: String, CodingKey {
            case maxMessageBytes, maxRecordsPerShip, maxChunkBytes, maxSnapshotFiles, maxConcurrentStreams
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            let d = Limits()
            maxMessageBytes = try c.decodeIfPresent(Int.self, forKey: .maxMessageBytes) ?? d.maxMessageBytes
            maxRecordsPerShip = try c.decodeIfPresent(Int.self, forKey: .maxRecordsPerShip) ?? d.maxRecordsPerShip
            maxChunkBytes = try c.decodeIfPresent(Int.self, forKey: .maxChunkBytes) ?? d.maxChunkBytes
            maxSnapshotFiles = try c.decodeIfPresent(Int.self, forKey: .maxSnapshotFiles) ?? d.maxSnapshotFiles
            maxConcurrentStreams = try c.decodeIfPresent(Int.self, forKey: .maxConcurrentStreams) ?? d.maxConcurrentStreams
        }
    }

    public static let defaultPort = 7543

    public init(name: String = "vault", listenHost: String = "127.0.0.1", listenPort: Int = VaultConfig.defaultPort,
                dataDirectory: String, certificatePath: String, privateKeyPath: String, caCertificatePath: String,
                revocationListPath: String? = nil, keepChangeDays: Int = 30, keepSnapshots: Int = 7,
                retentionIntervalSeconds: Double = 3600, limits: Limits = Limits()) {
        self.name = name
        self.listenHost = listenHost
        self.listenPort = listenPort
        self.dataDirectory = dataDirectory
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
        self.caCertificatePath = caCertificatePath
        self.revocationListPath = revocationListPath
        self.keepChangeDays = keepChangeDays
        self.keepSnapshots = keepSnapshots
        self.retentionIntervalSeconds = retentionIntervalSeconds
        self.limits = limits
    }

    enum CodingKeys: String, CodingKey {
        case name, listenHost, listenPort, dataDirectory, certificatePath, privateKeyPath, caCertificatePath
        case revocationListPath, keepChangeDays, keepSnapshots, retentionIntervalSeconds, limits
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? "vault"
        listenHost = try c.decodeIfPresent(String.self, forKey: .listenHost) ?? "127.0.0.1"
        listenPort = try c.decodeIfPresent(Int.self, forKey: .listenPort) ?? VaultConfig.defaultPort
        dataDirectory = try c.decode(String.self, forKey: .dataDirectory)
        certificatePath = try c.decode(String.self, forKey: .certificatePath)
        privateKeyPath = try c.decode(String.self, forKey: .privateKeyPath)
        caCertificatePath = try c.decode(String.self, forKey: .caCertificatePath)
        revocationListPath = try c.decodeIfPresent(String.self, forKey: .revocationListPath)
        keepChangeDays = try c.decodeIfPresent(Int.self, forKey: .keepChangeDays) ?? 30
        keepSnapshots = try c.decodeIfPresent(Int.self, forKey: .keepSnapshots) ?? 7
        retentionIntervalSeconds = try c.decodeIfPresent(Double.self, forKey: .retentionIntervalSeconds) ?? 3600
        limits = try c.decodeIfPresent(Limits.self, forKey: .limits) ?? Limits()
    }

    /// Checks every value, naming the first field that is out of range.
    public func validate() throws(VaultNetworkError) {
        func fail(_ field: String, _ rule: String) -> VaultNetworkError {
            VaultNetworkError(.configuration, "\(field): \(rule)")
        }
        if name.isEmpty { throw fail("name", "must not be empty") }
        if listenHost.isEmpty { throw fail("listenHost", "must not be empty") }
        guard (0...65_535).contains(listenPort) else { throw fail("listenPort", "must be between 0 and 65535, not \(listenPort)") }
        for (field, value) in [("dataDirectory", dataDirectory), ("certificatePath", certificatePath),
                               ("privateKeyPath", privateKeyPath), ("caCertificatePath", caCertificatePath)] where value.isEmpty {
            throw fail(field, "must not be empty")
        }
        if revocationListPath?.isEmpty == true { throw fail("revocationListPath", "must not be empty when given") }
        guard keepChangeDays >= 1 else { throw fail("keepChangeDays", "must be at least 1, not \(keepChangeDays)") }
        guard keepSnapshots >= 1 else { throw fail("keepSnapshots", "must be at least 1, not \(keepSnapshots)") }
        guard retentionIntervalSeconds.isFinite, retentionIntervalSeconds >= 1 else {
            throw fail("retentionIntervalSeconds", "must be at least 1 second, not \(retentionIntervalSeconds)")
        }
        let contract = Limits()
        guard (1...contract.maxMessageBytes).contains(limits.maxMessageBytes) else {
            throw fail("limits.maxMessageBytes", "must be between 1 and the contract's \(contract.maxMessageBytes), not \(limits.maxMessageBytes)")
        }
        guard (1...contract.maxRecordsPerShip).contains(limits.maxRecordsPerShip) else {
            throw fail("limits.maxRecordsPerShip", "must be between 1 and the contract's \(contract.maxRecordsPerShip), not \(limits.maxRecordsPerShip)")
        }
        guard (1...contract.maxChunkBytes).contains(limits.maxChunkBytes) else {
            throw fail("limits.maxChunkBytes", "must be between 1 and the contract's \(contract.maxChunkBytes), not \(limits.maxChunkBytes)")
        }
        guard (1...contract.maxSnapshotFiles).contains(limits.maxSnapshotFiles) else {
            throw fail("limits.maxSnapshotFiles", "must be between 1 and the contract's \(contract.maxSnapshotFiles), not \(limits.maxSnapshotFiles)")
        }
        guard limits.maxConcurrentStreams >= 1 else {
            throw fail("limits.maxConcurrentStreams", "must be at least 1, not \(limits.maxConcurrentStreams)")
        }
    }

    /// Reads and validates the configuration at `path`, resolving relative
    /// paths against its directory.
    public static func load(contentsOf path: String) throws(VaultNetworkError) -> VaultConfig {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw VaultNetworkError(.configuration, "cannot read vault configuration \(path)", cause: VaultErrorDescription(error))
        }
        var config: VaultConfig
        do {
            config = try JSONDecoder().decode(VaultConfig.self, from: data)
        } catch let DecodingError.keyNotFound(key, _) {
            throw VaultNetworkError(.configuration, "\(path): \(key.stringValue): is required")
        } catch let DecodingError.typeMismatch(_, context) {
            throw VaultNetworkError(.configuration, "\(path): \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)")
        } catch {
            throw VaultNetworkError(.configuration, "\(path) is not a valid vault configuration: \(error)")
        }
        do throws(VaultNetworkError) {
            try config.validate()
        } catch {
            throw VaultNetworkError(.configuration, "\(path): \(error.message)")
        }
        config.resolvePaths(relativeTo: URL(fileURLWithPath: path).deletingLastPathComponent().path)
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
    }

    /// Where the running vault writes its process ID.
    public var pidPath: String { dataDirectory + "/vault.pid" }

    /// Writes the configuration as pretty JSON.
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path))
    }
}
