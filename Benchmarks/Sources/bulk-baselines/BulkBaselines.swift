import ArgumentParser
import Foundation

/// The baselines of the bulk-inquiry benchmark (Benchmarks/run-bulk.sh):
/// the in-process ceiling, the PostgreSQL 15 peer, single-inquiry latency
/// during a bulk run, and a movers file for when `renkei gen movers` is
/// not available.
@main
struct BulkBaselines: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bulk-baselines",
        abstract: "Baselines for the bulk-inquiry benchmark: in-process ceiling, PostgreSQL 15 peer, single-inquiry latency.",
        discussion: """
        Every measure reads the same movers file (前住所地市区町村コード,個人番号,…) and the same \
        cluster directory (`renkei cluster up … --dir D`; stop it with `renkei cluster down` before \
        `ceiling`, which opens the node stores itself). See Benchmarks/README.md.
        """,
        subcommands: [Ceiling.self, Postgres.self, SingleLatency.self, Movers.self]
    )
}

/// Options every lookup baseline shares: the same data, numbers, batch size
/// and concurrency as the bulk run.
struct WorkloadOptions: ParsableArguments {
    @Option(help: "The cluster directory (`renkei cluster up … --dir D`).")
    var clusterDir: String
    @Option(help: "The movers CSV: 前住所地市区町村コード,個人番号[,氏名カナ,生年月日].")
    var movers: String
    @Option(help: "Numbers per batch (the bulk run's batch size).")
    var batch: Int = 1_000
    @Option(help: "Concurrent workers (the bulk run's concurrent streams).")
    var concurrency: Int = 4
    @Option(help: "Write the result JSON here.")
    var out: String

    func validate() throws {
        guard (1...10_000).contains(batch) else { throw ValidationError("--batch must be 1 to 10,000") }
        guard (1...256).contains(concurrency) else { throw ValidationError("--concurrency must be 1 to 256") }
    }
}
