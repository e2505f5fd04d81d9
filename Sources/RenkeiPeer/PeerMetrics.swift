import Synchronization

/// Counters of what the provider did, for operators and tests. Counts only:
/// no number, no record.
public final class PeerMetrics: Sendable {
    private let counts = Mutex<Counts>(Counts())

    /// A snapshot of the counters.
    public struct Counts: Sendable, Equatable {
        /// `Inquire` calls that reached the handler.
        public var inquiriesReceived = 0
        /// Lookups made in a tenant partition.
        public var lookups = 0
        public var matches = 0
        public var noMatches = 0
        public var invalid = 0
        public var denied = 0
        /// InquireBulk batches accepted and answered.
        public var bulkBatches = 0
        /// Bulk items answered MATCH.
        public var bulkMatches = 0
        /// Bulk items answered NO_MATCH.
        public var bulkNoMatches = 0
        /// Bulk items answered INVALID.
        public var bulkInvalid = 0
        /// InquireBulk streams failed by a limit or a rule (any non-OK end
        /// the provider chose: too many streams, in flight, too large,
        /// invalid batch, permission denied).
        public var bulkRefusedStreams = 0
    }

    public init() {}

    /// The current counts.
    public var snapshot: Counts { counts.withLock { $0 } }

    func update(_ body: (inout Counts) -> Void) { counts.withLock { body(&$0) } }
}
