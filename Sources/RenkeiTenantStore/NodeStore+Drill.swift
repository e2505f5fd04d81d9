import RenkeiCore
import RenkeiStore

/// The sentinel a backup drill writes into the live node and looks for in
/// the restored copy: a random token and the time it was written. Node
/// metadata only; it holds no personal data and belongs to no tenant.
public struct DrillSentinel: Sendable, Equatable {
    /// Size of `token`.
    public static let tokenBytes = 16

    public let token: [UInt8]
    /// When it was written (Unix ms, node clock).
    public let unixMillis: UInt64

    /// - Precondition: `token` has `tokenBytes` bytes.
    public init(token: [UInt8], unixMillis: UInt64) {
        precondition(token.count == Self.tokenBytes, "a drill token has \(Self.tokenBytes) bytes")
        self.token = token
        self.unixMillis = unixMillis
    }

    /// A fresh random token, stamped `unixMillis`.
    public static func random(unixMillis: UInt64) -> DrillSentinel {
        var generator = SystemRandomNumberGenerator()
        return DrillSentinel(token: (0..<tokenBytes).map { _ in UInt8.random(in: .min ... .max, using: &generator) }, unixMillis: unixMillis)
    }

    var encoded: [UInt8] {
        var out = token
        for shift in stride(from: 56, through: 0, by: -8) { out.append(UInt8(truncatingIfNeeded: unixMillis >> UInt64(shift))) }
        return out
    }

    init?(decoding bytes: [UInt8]) {
        guard bytes.count == Self.tokenBytes + 8 else { return nil }
        self.token = Array(bytes[0..<Self.tokenBytes])
        self.unixMillis = bytes[Self.tokenBytes...].reduce(0) { $0 << 8 | UInt64($1) }
    }
}

/// What a drill mark did on the live node: the sentinel, the change that
/// wrote it, and each tenant's counts in one exactly known state.
public struct DrillMark: Sendable, Equatable {
    /// One tenant's counts.
    public struct Tenant: Sendable, Equatable {
        public let code: MunicipalityCode
        public let counts: TenantCounts
    }

    public let sentinel: DrillSentinel
    /// The change entry that wrote the sentinel.
    public let sentinelSeq: UInt64
    /// The last change entry of the state `tenants` was counted in
    /// (`>= sentinelSeq`; greater when other writes came in between).
    public let countedSeq: UInt64
    /// Every hosted tenant, by code.
    public let tenants: [Tenant]
}

extension NodeStore {
    /// Where the sentinel lives: a node-wide key of the metadata family (no
    /// municipality code in it, so a one-tenant restore keeps it too).
    static let drillSentinelKey = Array("drill/sentinel".utf8)

    /// Writes `sentinel` (one change entry, synced) and counts every
    /// hosted tenant's records in a state that is exactly the one after a
    /// known change entry.
    ///
    /// The counts are read without stopping writers: the change sequence is
    /// read before and after; if it moved, a write may have landed in
    /// between and the counting starts again. (Every write to the database
    /// goes through the change log, whose sequence is advanced under the
    /// same lock as the write, so an unmoved sequence means no write became
    /// visible while counting.) At most `attemptsMax` tries.
    ///
    /// - Throws: `.storage` if the database keeps no change log or the write
    ///   fails; `.conflict` if the node was writing too fast to count
    ///   consistently in `attemptsMax` tries.
    public func writeDrillMark(_ sentinel: DrillSentinel, attemptsMax: Int = 50) throws(NodeError) -> DrillMark {
        guard db.hasChangeLog else {
            throw NodeError(.storage, "the node's database keeps no change log, so a drill cannot name the change it restores to")
        }
        let written = try storage { try db.put(Self.drillSentinelKey, sentinel.encoded, in: meta, sync: true) }
        guard let sentinelSeq = written else {
            throw NodeError(.storage, "the drill sentinel was written without a change entry")
        }
        for _ in 0..<max(1, attemptsMax) {
            let before = db.lastChangeSequence
            var tenants: [DrillMark.Tenant] = []
            for info in self.tenants {
                let partition: TenantPartition
                do throws(NodeError) {
                    partition = try tenant(info.code)
                } catch where error.code == .tenantNotFound {
                    break  // deleted meanwhile: the sequence moved, so this try is discarded below
                }
                tenants.append(DrillMark.Tenant(code: info.code, counts: try partition.counts()))
            }
            let after = db.lastChangeSequence
            if before == after {
                return DrillMark(sentinel: sentinel, sentinelSeq: sentinelSeq, countedSeq: after, tenants: tenants)
            }
        }
        throw NodeError(.conflict, "the node committed writes during each of \(max(1, attemptsMax)) attempts to count its tenants; run the drill again when it is quieter")
    }

    /// The drill sentinel this node holds, or `nil` if none was written (or
    /// what is stored is not a sentinel).
    public func drillSentinel() throws(NodeError) -> DrillSentinel? {
        guard let bytes = try storage({ try db.get(Self.drillSentinelKey, in: meta) }) else { return nil }
        return DrillSentinel(decoding: bytes)
    }
}
