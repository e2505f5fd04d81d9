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
    }

    public init() {}

    /// The current counts.
    public var snapshot: Counts { counts.withLock { $0 } }

    func update(_ body: (inout Counts) -> Void) { counts.withLock { body(&$0) } }
}
