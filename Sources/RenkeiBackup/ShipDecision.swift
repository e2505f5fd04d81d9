/// What the shipper does next, decided from the vault's and the node's
/// sequence numbers alone: no I/O, so every case is a table test.
public enum ShipDecision: Sendable, Equatable {
    /// The vault holds every change the node has: wait for the next commit.
    case idle
    /// Send the retained changes after this sequence number.
    case send(after: UInt64)
    /// A base snapshot must reach the vault before any change can follow it
    /// (the reason says why, for the log and the status).
    case takeSnapshot(reason: String)
    /// The vault holds changes the node does not have: shipping would
    /// corrupt the backup, so the shipper stops and says so.
    case conflict(reason: String)

    /// What the node knows when it decides.
    public struct Input: Sendable, Equatable {
        /// The last sequence number the vault holds (its latest ShipAck, or
        /// the covers_seq of its latest snapshot if that is higher).
        public var vaultLast: UInt64
        /// Whether the vault holds a base snapshot of this node at all.
        public var vaultHasSnapshot: Bool
        /// The node's newest change entry (`Database.lastChangeSequence`).
        public var nodeLast: UInt64
        /// The oldest change entry the node still holds; nil if none.
        public var firstRetained: UInt64?
        /// Set when the node dropped its backlog (hold-back limit) or an
        /// operator asked for a snapshot before shipping on.
        public var needsSnapshot: Bool

        public init(vaultLast: UInt64, vaultHasSnapshot: Bool, nodeLast: UInt64, firstRetained: UInt64?, needsSnapshot: Bool) {
            self.vaultLast = vaultLast
            self.vaultHasSnapshot = vaultHasSnapshot
            self.nodeLast = nodeLast
            self.firstRetained = firstRetained
            self.needsSnapshot = needsSnapshot
        }
    }

    /// The next step for `input`.
    public static func decide(_ input: Input) -> ShipDecision {
        if input.vaultLast > input.nodeLast {
            return .conflict(reason: "the vault holds changes up to \(input.vaultLast) but the node's change log ends at \(input.nodeLast): this data directory is older than its backup (restored or copied?)")
        }
        if input.needsSnapshot {
            return .takeSnapshot(reason: "the node dropped changes the vault does not have")
        }
        // Changes alone cannot rebuild the data written before the change
        // log existed (or before this vault was configured): a restore always
        // starts from a base snapshot, so the first one goes before any change.
        if !input.vaultHasSnapshot {
            return .takeSnapshot(reason: "the vault has no base snapshot of this node yet")
        }
        if input.vaultLast == input.nodeLast { return .idle }
        guard let first = input.firstRetained, first <= input.vaultLast + 1 else {
            return .takeSnapshot(reason: "the vault ends at \(input.vaultLast) and the node holds changes only from \(input.firstRetained.map(String.init) ?? "none"): a base snapshot bridges the gap")
        }
        return .send(after: input.vaultLast)
    }

    /// Whether the change log has outgrown what the node may hold back for
    /// the vault, so the backlog must be dropped (and a snapshot taken later).
    public static func mustDropBacklog(changeLogBytes: Int, holdBackBytesMax: Int) -> Bool {
        changeLogBytes > holdBackBytesMax
    }

    /// What to discard after the vault acknowledged `ack`: everything up to
    /// it that the node still holds, or nil if there is nothing.
    public static func discardThrough(ack: UInt64, nodeLast: UInt64, firstRetained: UInt64?) -> UInt64? {
        guard let first = firstRetained, ack >= first else { return nil }
        return min(ack, nodeLast)
    }

    /// The delay before reconnect attempt `attempt` (0 for the first retry):
    /// doubling from `min` up to `max`.
    public static func reconnectDelay(attempt: Int, minSeconds: Double, maxSeconds: Double) -> Double {
        let factor = Double(1 << Swift.min(attempt, 30))
        return Swift.min(maxSeconds, minSeconds * factor)
    }
}
