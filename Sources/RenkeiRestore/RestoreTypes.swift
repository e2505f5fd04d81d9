import RenkeiCore
import RenkeiCrypto
import RenkeiTenantStore

/// A recovery kit with the passphrase that opens it.
public struct RestoreKey: Sendable {
    public let kit: RecoveryKit
    public let passphrase: String

    public init(kit: RecoveryKit, passphrase: String) {
        self.kit = kit
        self.passphrase = passphrase
    }
}

/// What to restore, and where.
public struct RestoreRequest: Sendable {
    /// The vault stream (node name) to restore from. With `code` set and
    /// this `nil`, the node whose snapshots hold that tenant is looked up
    /// (only a source that can list nodes can do that).
    public var node: String?
    /// Restore only this municipality out of the node (its column families
    /// and metadata; the other tenants' data and keys are left out).
    public var code: MunicipalityCode?
    /// The new node data directory: must not exist, or be empty.
    public var target: String
    /// One kit per tenant restored.
    public var keys: [RestoreKey]
    /// Restore the state at this moment (Unix ms) instead of the newest.
    public var pointInTimeMs: UInt64?
    /// Restore exactly the state after this change (a drill compares it
    /// with counts the live node took at that change): base snapshots past
    /// it are not used, the replay stops after it, and a vault that does not
    /// hold it is a gap. Not together with `pointInTimeMs`.
    public var throughSeq: UInt64?

    public init(node: String? = nil, code: MunicipalityCode? = nil, target: String, keys: [RestoreKey], pointInTimeMs: UInt64? = nil,
                throughSeq: UInt64? = nil) {
        self.node = node
        self.code = code
        self.target = target
        self.keys = keys
        self.pointInTimeMs = pointInTimeMs
        self.throughSeq = throughSeq
    }
}

/// Where a restore is, for a progress display.
public enum RestoreProgress: Sendable, Equatable {
    /// Snapshot files: bytes fetched and verified of the total.
    case fetchingSnapshot(bytes: UInt64, of: UInt64)
    /// Changes: the last applied, and the last the plan can reach.
    case replaying(seq: UInt64, of: UInt64)
    /// Installing the recovery kits and opening the node.
    case openingTenants
}

/// One restored tenant.
public struct RestoredTenant: Sendable, Equatable {
    public let code: MunicipalityCode
    public let name: String
    public let counts: TenantCounts
    /// `TenantKeyring.fingerprint` of the keyring installed from the kit.
    public let keyringFingerprint: String
}

/// What a restore did.
public struct RestoreReport: Sendable, Equatable {
    public let node: String
    /// Set for a one-tenant (`--code`) restore.
    public let code: MunicipalityCode?
    /// The new data directory.
    public let target: String
    /// The base snapshot, `nil` when the restore replayed from change 1.
    public let snapshotID: String?
    /// The last change the base held.
    public let baseSeq: UInt64
    /// The last change applied (`baseSeq` if none).
    public let lastSeq: UInt64
    /// Commit time of change `lastSeq`, when known.
    public let lastCommitTimeMs: UInt64?
    public let pointInTimeMs: UInt64?
    public let snapshotFiles: Int
    public let snapshotBytes: UInt64
    public let segmentsRead: Int
    public let changesApplied: Int
    public let tenants: [RestoredTenant]
    /// Fingerprint of the restored node's new master key.
    public let masterKeyFingerprint: String
    public let seconds: Double
}
