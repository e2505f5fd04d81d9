import Logging
import Metrics
import RenkeiCore
import RenkeiTenantStore
import ServiceLifecycle

/// Publishes `renkei_storage_bytes{tenant}` (SST files and memtables of each
/// hosted municipality) every `interval`, so an operator sees a tenant's
/// growth and a disk filling before it is full. The label is the
/// municipality code, a bounded set.
public struct StorageGauges: Service {
    public let store: NodeStore
    public let interval: Duration
    let logger: Logger

    public init(store: NodeStore, interval: Duration = .seconds(30), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    /// Records every hosted tenant now; a tenant no longer hosted (deleted)
    /// among `previous` is recorded as 0 rather than left at its last size.
    /// Returns the codes recorded non-zero.
    @discardableResult
    public func record(previous: Set<MunicipalityCode> = []) -> Set<MunicipalityCode> {
        let hosted = Set(store.tenants.map(\.code))
        for code in hosted {
            Gauge(label: "renkei_storage_bytes", dimensions: [("tenant", code.rawValue)]).record(store.storageBytes(of: code))
        }
        for code in previous.subtracting(hosted) {
            Gauge(label: "renkei_storage_bytes", dimensions: [("tenant", code.rawValue)]).record(0)
        }
        return hosted
    }

    public func run() async throws {
        var recorded: Set<MunicipalityCode> = []
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            recorded = record(previous: recorded)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
        }
    }
}
