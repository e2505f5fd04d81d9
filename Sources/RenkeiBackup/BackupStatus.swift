/// The backup state of a node, as `renkei backup status` shows it.
/// Counts, sequence numbers and times only.
public struct BackupStatus: Sendable, Codable, Equatable {
    public var mode: VaultSettings.Mode
    /// The vault's address, as configured.
    public var vault: String
    /// Whether the last attempt to reach the vault succeeded.
    public var vaultReachable: Bool
    /// When the current outage began (unix ms), if the vault is unreachable.
    public var unreachableSinceUnixMillis: UInt64?
    /// Why the vault was last unreachable or refused (no payload, no key).
    public var lastError: String?
    /// The newest change on the node.
    public var lastChangeSeq: UInt64
    /// The highest sequence number sent to the vault.
    public var lastShippedSeq: UInt64
    /// The highest sequence number the vault acknowledged as durable.
    public var lastAckedSeq: UInt64
    /// Age of the oldest change the vault has not acknowledged (0 if none).
    public var lagSeconds: Double
    /// Change-log bytes the node holds for the vault.
    public var lagBytes: Int
    /// The hold-back limit (`vault.holdBackBytesMax`).
    public var holdBackBytesMax: Int
    /// Whether a base snapshot must reach the vault before shipping resumes.
    public var needsSnapshot: Bool
    /// How many times the backlog was dropped at the hold-back limit.
    public var backlogDrops: Int
    public var lastSnapshotID: String?
    public var lastSnapshotCoversSeq: UInt64?
    public var lastSnapshotAgeSeconds: Double?

    public init(mode: VaultSettings.Mode,
                vault: String,
                vaultReachable: Bool,
                unreachableSinceUnixMillis: UInt64?,
                lastError: String?,
                lastChangeSeq: UInt64,
                lastShippedSeq: UInt64,
                lastAckedSeq: UInt64,
                lagSeconds: Double,
                lagBytes: Int,
                holdBackBytesMax: Int,
                needsSnapshot: Bool,
                backlogDrops: Int,
                lastSnapshotID: String?,
                lastSnapshotCoversSeq: UInt64?,
                lastSnapshotAgeSeconds: Double?) {
        self.mode = mode
        self.vault = vault
        self.vaultReachable = vaultReachable
        self.unreachableSinceUnixMillis = unreachableSinceUnixMillis
        self.lastError = lastError
        self.lastChangeSeq = lastChangeSeq
        self.lastShippedSeq = lastShippedSeq
        self.lastAckedSeq = lastAckedSeq
        self.lagSeconds = lagSeconds
        self.lagBytes = lagBytes
        self.holdBackBytesMax = holdBackBytesMax
        self.needsSnapshot = needsSnapshot
        self.backlogDrops = backlogDrops
        self.lastSnapshotID = lastSnapshotID
        self.lastSnapshotCoversSeq = lastSnapshotCoversSeq
        self.lastSnapshotAgeSeconds = lastSnapshotAgeSeconds
    }
}
