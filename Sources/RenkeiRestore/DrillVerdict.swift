import RenkeiTenantStore

/// What the live node reported when the drill marked it: the sentinel it
/// wrote and each tenant's counts in the state after change `countedSeq`.
public struct DrillLive: Sendable, Equatable {
    public let sentinelToken: [UInt8]
    public let sentinelUnixMillis: UInt64
    public let sentinelSeq: UInt64
    public let countedSeq: UInt64
    /// Counts by municipality code.
    public let tenants: [String: TenantCounts]

    public init(sentinelToken: [UInt8], sentinelUnixMillis: UInt64, sentinelSeq: UInt64, countedSeq: UInt64, tenants: [String: TenantCounts]) {
        self.sentinelToken = sentinelToken
        self.sentinelUnixMillis = sentinelUnixMillis
        self.sentinelSeq = sentinelSeq
        self.countedSeq = countedSeq
        self.tenants = tenants
    }
}

/// What the drill found in the restored copy.
public struct DrillRestored: Sendable, Equatable {
    /// The last change the restore applied.
    public let lastSeq: UInt64
    /// Counts by municipality code, as the restore reported them.
    public let tenants: [String: TenantCounts]
    /// The sentinel's token in the restored node, `nil` if it has none.
    public let sentinelToken: [UInt8]?
    /// How long the restore took (the RTO measured).
    public let seconds: Double

    public init(lastSeq: UInt64, tenants: [String: TenantCounts], sentinelToken: [UInt8]?, seconds: Double) {
        self.lastSeq = lastSeq
        self.tenants = tenants
        self.sentinelToken = sentinelToken
        self.seconds = seconds
    }
}

/// The outcome of a backup drill: per-tenant counts live against restored,
/// the sentinel, the measured RPO and RTO, and every failing part named.
/// A pure value: `judge` compares, the CLI does the I/O around it.
public struct DrillVerdict: Sendable, Equatable, Codable {
    /// One tenant's comparison.
    public struct Tenant: Sendable, Equatable, Codable {
        public enum Status: String, Sendable, Codable {
            /// Every count matches.
            case ok = "OK"
            /// Both hold the tenant, with different counts.
            case mismatch = "MISMATCH"
            /// The live node hosts it; the restored copy does not.
            case missing = "MISSING"
            /// The restored copy holds it; the live node does not.
            case unexpected = "UNEXPECTED"
        }

        public let code: String
        public let live: TenantCounts?
        public let restored: TenantCounts?
        public let status: Status
    }

    /// What became of the sentinel.
    public enum Sentinel: String, Sendable, Codable {
        /// The restored copy holds the token the live node wrote.
        case found
        /// The restored copy holds no sentinel.
        case missing
        /// It holds another drill's sentinel (an older state).
        case different
    }

    /// Tenants by code.
    public let tenants: [Tenant]
    public let sentinel: Sentinel
    /// The change the live node counted at, and the last one restored.
    public let liveSeq: UInt64
    public let restoredSeq: UInt64
    /// The newest change the vault held when the restore started, and its commit time.
    public let vaultNewestSeq: UInt64?
    public let vaultNewestCommitUnixMillis: UInt64?
    /// The restore's start minus the commit time of the newest change the
    /// vault held then: how old the newest data that made it was. `nil` if
    /// the vault held nothing.
    public let rpoSeconds: Double?
    /// How long the restore took.
    public let rtoSeconds: Double
    /// Every failing part, in words; empty when the drill passed.
    public let failures: [String]

    /// Whether everything matched.
    public var passed: Bool { failures.isEmpty }

    /// Compares `live` with `restored`.
    ///
    /// - Parameters:
    ///   - vaultNewest: The newest change the vault held when the restore
    ///     started (sequence and commit time, Unix ms).
    ///   - restoreStartedUnixMillis: When the restore started.
    public static func judge(
        live: DrillLive, restored: DrillRestored, vaultNewest: (seq: UInt64, commitTimeMs: UInt64)?, restoreStartedUnixMillis: UInt64
    ) -> DrillVerdict {
        var failures: [String] = []
        var rows: [Tenant] = []
        for code in Set(live.tenants.keys).union(restored.tenants.keys).sorted() {
            let l = live.tenants[code]
            let r = restored.tenants[code]
            let status: Tenant.Status
            switch (l, r) {
            case let (l?, r?): status = l == r ? .ok : .mismatch
            case (_?, nil): status = .missing
            default: status = .unexpected
            }
            rows.append(Tenant(code: code, live: l, restored: r, status: status))
            switch status {
            case .ok: break
            case .mismatch:
                failures.append("tenant \(code): counts differ (live \(Self.text(l)), restored \(Self.text(r)))")
            case .missing:
                failures.append("tenant \(code): hosted by the live node, absent from the restored copy")
            case .unexpected:
                failures.append("tenant \(code): in the restored copy, not hosted by the live node")
            }
        }
        let sentinel: Sentinel = switch restored.sentinelToken {
        case nil: .missing
        case let token? where token == live.sentinelToken: .found
        default: .different
        }
        switch sentinel {
        case .found: break
        case .missing: failures.append("sentinel: the restored copy has no drill sentinel (written as change \(live.sentinelSeq))")
        case .different: failures.append("sentinel: the restored copy holds another drill's sentinel, not the one written as change \(live.sentinelSeq)")
        }
        if restored.lastSeq != live.countedSeq {
            failures.append("sequence: the restore ended at change \(restored.lastSeq), the live counts are at change \(live.countedSeq)")
        }
        let rpo = vaultNewest.map { Double(Int64(clamping: restoreStartedUnixMillis) - Int64(clamping: $0.commitTimeMs)) / 1000 }
        return DrillVerdict(
            tenants: rows, sentinel: sentinel, liveSeq: live.countedSeq, restoredSeq: restored.lastSeq,
            vaultNewestSeq: vaultNewest?.seq, vaultNewestCommitUnixMillis: vaultNewest?.commitTimeMs,
            rpoSeconds: rpo.map { max(0, $0) }, rtoSeconds: restored.seconds, failures: failures)
    }

    /// `residents/vaccinations/received files`, for messages.
    static func text(_ counts: TenantCounts?) -> String {
        guard let counts else { return "-" }
        return "\(counts.residents) residents, \(counts.vaccinations) vaccinations, \(counts.receivedFiles) received files"
    }
}
