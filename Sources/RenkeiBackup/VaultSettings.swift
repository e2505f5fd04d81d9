/// The `vault` section of a node configuration: where the node ships its
/// backup, and how. Absent (nil) means the node keeps no remote backup.
///
/// Every field has a default, so a JSON section with only `host` and `port`
/// is complete; `validate()` names the first field that is out of range.
public struct VaultSettings: Sendable, Codable, Equatable {
    /// How a write relates to its shipping.
    public enum Mode: String, Sendable, Codable, Equatable {
        /// Writes are acknowledged at once and shipped right after (RPO: the
        /// replication lag, normally well under a second).
        case async
        /// Write paths that must not lose a change wait until the vault has
        /// acknowledged it (RPO 0), and fail if it does not within
        /// `syncTimeoutSeconds`.
        case sync
    }

    /// The vault's address (IP literal or DNS name).
    public var host: String
    /// The vault's port.
    public var port: Int
    /// The vault certificate's name; nil accepts any certificate with role vault.
    public var serverName: String?
    public var mode: Mode
    /// Minutes between periodic base snapshots (0: only on demand).
    public var snapshotIntervalMinutes: Int
    /// Most change-log bytes the node keeps for an unreachable vault. Beyond
    /// it the node drops the backlog and takes a fresh base snapshot once the
    /// vault is back, so a long outage cannot fill the node's disk.
    public var holdBackBytesMax: Int
    /// Change records per ShipRequest (1 to 1,000, the contract's limit).
    public var shipBatchRecords: Int
    /// First delay before reconnecting to an unreachable vault, in seconds.
    public var reconnectDelaySecondsMin: Double
    /// The delay doubles per failed attempt up to this many seconds.
    public var reconnectDelaySecondsMax: Double
    /// Sync mode: how long a write waits for the vault before it fails.
    public var syncTimeoutSeconds: Double

    /// Seconds between periodic base snapshots, as the shipper uses it:
    /// `snapshotIntervalSecondsOverride` if set, else
    /// `snapshotIntervalMinutes` × 60 (0: only on demand).
    public var snapshotIntervalSeconds: Double {
        snapshotIntervalSecondsOverride ?? Double(snapshotIntervalMinutes) * 60
    }

    /// Tests only (`@testable`): a periodic-snapshot interval in seconds,
    /// which the configuration (whole minutes) cannot express. Not decoded
    /// or encoded; nil in every configuration read from a file.
    var snapshotIntervalSecondsOverride: Double?

    /// The contract's limit of records per ShipRequest.
    public static let maxShipBatchRecords = 1_000

    public init(host: String, port: Int, serverName: String? = nil, mode: Mode = .async,
                snapshotIntervalMinutes: Int = 60, holdBackBytesMax: Int = 1 << 30,
                shipBatchRecords: Int = 1_000, reconnectDelaySecondsMin: Double = 0.5,
                reconnectDelaySecondsMax: Double = 30, syncTimeoutSeconds: Double = 10) {
        self.host = host
        self.port = port
        self.serverName = serverName
        self.mode = mode
        self.snapshotIntervalMinutes = snapshotIntervalMinutes
        self.holdBackBytesMax = holdBackBytesMax
        self.shipBatchRecords = shipBatchRecords
        self.reconnectDelaySecondsMin = reconnectDelaySecondsMin
        self.reconnectDelaySecondsMax = reconnectDelaySecondsMax
        self.syncTimeoutSeconds = syncTimeoutSeconds
    }

    enum CodingKeys: String, CodingKey {
        case host, port, serverName, mode, snapshotIntervalMinutes, holdBackBytesMax, shipBatchRecords
        case reconnectDelaySecondsMin, reconnectDelaySecondsMax, syncTimeoutSeconds
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let host = try c.decode(String.self, forKey: .host)
        let port = try c.decode(Int.self, forKey: .port)
        let d = VaultSettings(host: host, port: port)
        self.init(
            host: host, port: port,
            serverName: try c.decodeIfPresent(String.self, forKey: .serverName),
            mode: try c.decodeIfPresent(Mode.self, forKey: .mode) ?? d.mode,
            snapshotIntervalMinutes: try c.decodeIfPresent(Int.self, forKey: .snapshotIntervalMinutes) ?? d.snapshotIntervalMinutes,
            holdBackBytesMax: try c.decodeIfPresent(Int.self, forKey: .holdBackBytesMax) ?? d.holdBackBytesMax,
            shipBatchRecords: try c.decodeIfPresent(Int.self, forKey: .shipBatchRecords) ?? d.shipBatchRecords,
            reconnectDelaySecondsMin: try c.decodeIfPresent(Double.self, forKey: .reconnectDelaySecondsMin) ?? d.reconnectDelaySecondsMin,
            reconnectDelaySecondsMax: try c.decodeIfPresent(Double.self, forKey: .reconnectDelaySecondsMax) ?? d.reconnectDelaySecondsMax,
            syncTimeoutSeconds: try c.decodeIfPresent(Double.self, forKey: .syncTimeoutSeconds) ?? d.syncTimeoutSeconds)
    }

    /// Checks every field's range.
    /// - Throws: `BackupError` `.configuration` naming the field (as `vault.FIELD`).
    public func validate() throws(BackupError) {
        func fail(_ field: String, _ rule: String) -> BackupError {
            BackupError(.configuration, "vault.\(field) \(rule)")
        }
        guard !host.isEmpty else { throw fail("host", "must not be empty") }
        guard (1...65_535).contains(port) else { throw fail("port", "must be between 1 and 65535") }
        if let serverName, serverName.isEmpty { throw fail("serverName", "must not be empty when given") }
        guard snapshotIntervalMinutes >= 0 else { throw fail("snapshotIntervalMinutes", "must be 0 or more") }
        guard holdBackBytesMax >= 1 << 20 else { throw fail("holdBackBytesMax", "must be at least 1 MiB (1048576)") }
        guard (1...Self.maxShipBatchRecords).contains(shipBatchRecords) else {
            throw fail("shipBatchRecords", "must be between 1 and \(Self.maxShipBatchRecords)")
        }
        guard reconnectDelaySecondsMin > 0 else { throw fail("reconnectDelaySecondsMin", "must be positive") }
        guard reconnectDelaySecondsMax >= reconnectDelaySecondsMin else {
            throw fail("reconnectDelaySecondsMax", "must be at least reconnectDelaySecondsMin")
        }
        guard syncTimeoutSeconds > 0 else { throw fail("syncTimeoutSeconds", "must be positive") }
    }
}
