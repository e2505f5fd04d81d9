import ArgumentParser
import Dispatch
import Foundation
import Logging
import RenkeiCluster
import RenkeiCore
import RenkeiPeer
import RenkeiTenantStore
import RenkeiWire
import Synchronization
import SwiftProtobuf

/// The ceiling: the provider's work for the same batches, in process, with
/// no network — per batch, the blind index of every number, a MultiGet in
/// the number index and one in the resident records, AES-GCM open and
/// decode of each resident, then a prefix scan of each match's vaccination
/// records with open and decode (`TenantPartition.residentFiles(numbers:)`,
/// the call a provider makes). `--encode` adds what
/// the provider does after that: mapping to `renkei.v1` messages and
/// serializing one BulkInquiryResponse per batch, padded.
struct Ceiling: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "In-process ceiling: blind index, MultiGet, decrypt (and optionally encode), same batches, no network.")

    @OptionGroup var workload: WorkloadOptions
    @Flag(help: "Also map every answer to renkei.v1 and serialize one padded BulkInquiryResponse per batch.")
    var encode = false

    func run() throws {
        let logger = Logger(label: "bulk-baselines")
        let started = Resources.now()
        let load = try Workload.load(path: workload.movers, batchSize: workload.batch)
        let spec = try ClusterState.load(directory: workload.clusterDir).spec
        var stores: [NodeStore] = []
        var tenants: [String: TenantPartition] = [:]
        for node in spec.nodes {
            let dir = workload.clusterDir + "/nodes/\(node.name)/data"
            do throws(NodeError) {
                let store = try NodeStore.open(NodeDirectory(dir), logger: logger)
                stores.append(store)
                for info in store.tenants { tenants[info.code.rawValue] = try store.tenant(info.code) }
            } catch {
                throw Failure("cannot open \(dir): \(error.description) (is the cluster still running? stop it first: renkei cluster down --dir \(workload.clusterDir))")
            }
        }
        note("ceiling\(encode ? " + encode" : ""): \(load.items) items (\(load.invalid) invalid), \(load.batches.count) batches, \(tenants.count) tenants, concurrency \(workload.concurrency)")
        let queue = BatchQueue(load.batches)
        let counters = Counters()
        let tenantsByCode = tenants
        let encode = self.encode
        let store0 = stores[0]
        let cpu0 = Resources.processCPUSeconds()
        let t0 = ContinuousClock.now
        DispatchQueue.concurrentPerform(iterations: workload.concurrency) { _ in
            while let i = queue.take() {
                let batch = queue.batches[i]
                let start = ContinuousClock.now
                do {
                    let (m, bytes) = try Self.answer(batch, tenant: tenantsByCode[batch.target.rawValue], decoyStore: store0, encode: encode)
                    counters.matches.wrappingAdd(m, ordering: .relaxed)
                    counters.bytes.wrappingAdd(bytes, ordering: .relaxed)
                } catch {
                    queue.fail("\(error)")
                }
                queue.record(millis: millis(since: start))
            }
        }
        let seconds = (ContinuousClock.now - t0) / .seconds(1)
        let cpu = Resources.processCPUSeconds() - cpu0
        if let error = queue.error { throw Failure("a batch failed: \(error)") }
        let matched = counters.matches.load(ordering: .relaxed)
        var report = RunReport(
            measure: encode ? "ceilingEncoded" : "ceiling",
            description: encode
                ? "in process, no network: blind index, MultiGet, AES-GCM open + decode of residents and vaccinations, renkei.v1 mapping and a padded BulkInquiryResponse per batch"
                : "in process, no network: blind index, MultiGet, AES-GCM open + decode of residents and their vaccinations",
            build: buildKind, items: load.items, lookedUp: load.lookedUp, batches: load.batches.count,
            batchSize: workload.batch, concurrency: workload.concurrency, seconds: seconds,
            itemsPerSecond: Double(load.lookedUp) / seconds, batchLatencyMs: Percentiles(millis: queue.samples),
            cpuSeconds: cpu, cpuSecondsPer1000Items: cpu / Double(load.lookedUp) * 1000,
            peakRSSBytes: Resources.peakRSSBytes() ?? 0,
            outcomes: Outcomes(match: matched, noMatch: load.lookedUp - matched, invalid: load.invalid),
            startedAt: started, loadAverage: Resources.loadAverage())
        if encode { report.extra["encodedBytes"] = Double(counters.bytes.load(ordering: .relaxed)) }
        report.notes.append("items/s counts looked-up items (invalid rows are never sent); peak RSS is the whole process, movers list included")
        print(String(format: "%@: %.0f items/s, batch p50 %.2f ms p99 %.2f ms, %.3f CPU s/1000 items, %d matches",
                     report.measure, report.itemsPerSecond, report.batchLatencyMs.p50, report.batchLatencyMs.p99,
                     report.cpuSecondsPer1000Items, matched))
        try writeJSON(report, to: workload.out)
    }

    /// The provider's work for one batch; returns (matches, encoded bytes).
    static func answer(_ batch: Batch, tenant: TenantPartition?, decoyStore: NodeStore, encode: Bool) throws -> (Int, Int) {
        guard let tenant else {
            // Not hosted here: the provider answers NO_MATCH after the same kind of work.
            for n in batch.numbers { decoyStore.decoyLookup(n.digits) }
            return (0, 0)
        }
        let files = try tenant.residentFiles(numbers: batch.numbers)
        var matches = 0
        var response = Renkei_V1_BulkInquiryResponse()
        if encode {
            response.batchID = UUID().uuidString.lowercased()
            response.results.reserveCapacity(files.count)
        }
        for (i, residentFile) in files.enumerated() {
            guard let residentFile else {
                if encode {
                    var r = Renkei_V1_BulkResult()
                    r.itemID = UInt32(i + 1)
                    r.outcome = .noMatch
                    response.results.append(r)
                }
                continue
            }
            matches += 1
            if encode {
                var file = Renkei_V1_VaccinationFile()
                file.resident = RecordMapping.summary(residentFile.resident)
                file.doses = residentFile.vaccinations.map(RecordMapping.dose)
                var r = Renkei_V1_BulkResult()
                r.itemID = UInt32(i + 1)
                r.outcome = .match
                r.match = file
                response.results.append(r)
            }
        }
        guard encode else { return (matches, 0) }
        response.batchComplete = true
        var bytes = 0
        // The contract caps a padded response at 4 MiB; split like a provider would.
        let maxUnpadded = 4 * 1024 * 1024 - 64
        let whole: [UInt8] = try response.serializedBytes()
        if whole.count <= maxUnpadded {
            _ = try response.applyPadding()
            bytes += (try response.serializedBytes() as [UInt8]).count
        } else {
            let parts = whole.count / maxUnpadded + 1
            let per = (response.results.count + parts - 1) / parts
            for start in stride(from: 0, to: response.results.count, by: per) {
                var part = Renkei_V1_BulkInquiryResponse()
                part.batchID = response.batchID
                part.results = Array(response.results[start..<min(start + per, response.results.count)])
                part.batchComplete = start + per >= response.results.count
                _ = try part.applyPadding()
                bytes += (try part.serializedBytes() as [UInt8]).count
            }
        }
        return (matches, bytes)
    }
}
