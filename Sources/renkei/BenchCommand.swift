import ArgumentParser
import Foundation
import Logging
import RenkeiCSV
import RenkeiCore
import RenkeiImport
import RenkeiStore
import RenkeiSynth
import RenkeiTenantStore
import RenkeiPeer

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that report ratios against a baseline measured in the same run.",
        subcommands: [Store.self]
    )

    struct Store: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encrypted store vs raw RocksDB: import and lookup throughput.",
            discussion: """
            Generates a synthetic population, then measures in one run: (1) the full CSV import \
            (parse, validate, blind-index, encrypt, synced batches of 1,000), (2) the encrypted store \
            write alone, (3) raw RocksDB writes of the same records in plaintext under plaintext keys, \
            same batches, same sync; then lookups by Individual Number: (4) encrypted (blind index → \
            index → record → decrypt → decode), (5) raw RocksDB (index → record → decode), one at a time \
            and batched with MultiGet. Build with -c release for meaningful numbers (Benchmarks/run-store.sh).
            """)

        @Option(help: "Residents to generate and import.")
        var residents: Int = 200_000
        @Option(help: "Lookups to time (random residents).")
        var lookups: Int = 200_000
        @Option(help: "Batch size for MultiGet lookups.")
        var lookupBatch: Int = 1_000
        @Option(help: "Random seed.")
        var seed: UInt64 = 7
        @Option(help: "Working directory (a fresh temporary one if omitted; removed afterwards).")
        var dir: String?
        @Option(help: "Write the results as JSON to this file.")
        var json: String?

        func validate() throws {
            guard (1_000...5_000_000).contains(residents) else { throw ValidationError("--residents must be 1,000 to 5,000,000") }
            guard (1...10_000_000).contains(lookups) else { throw ValidationError("--lookups must be 1 to 10,000,000") }
            guard (1...TenantPartition.maxBatchRows).contains(lookupBatch) else { throw ValidationError("--lookup-batch must be 1 to 10,000") }
        }

        func run() throws {
            CLILogging.bootstrap(level: .warning)
            let logger = Logger(label: "renkei.bench")
            let work = dir ?? (NSTemporaryDirectory() + "renkei-bench-\(getpid())")
            try? FileManager.default.removeItem(atPath: work)
            try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
            defer { if dir == nil { try? FileManager.default.removeItem(atPath: work) } }

            let code = try MunicipalityCode("322016")
            let people = PopulationGenerator(spec: PopulationSpec(municipality: code, count: residents, seed: seed))
            var population: [Resident] = []
            population.reserveCapacity(residents)
            let csv = try CSVWriter(path: work + "/residents.csv")
            try csv.write(ResidentCSVFormat.columns)
            for person in people {
                population.append(person.resident)
                try csv.write(ResidentCSVFormat.fields(of: person.resident))
            }
            try csv.finish()
            note("generated \(residents) residents")

            // (1) Full CSV import into an encrypted tenant.
            try NodeStore.initialize(at: NodeDirectory(work + "/node-csv"), logger: logger)
            let csvStore = try NodeStore.open(NodeDirectory(work + "/node-csv"), logger: logger)
            let csvTenant = try csvStore.addTenant(code, name: "松江市")
            let importSeconds = try time {
                _ = try ResidentImporter(partition: try csvStore.tenant(csvTenant.code), logger: logger).run(path: work + "/residents.csv")
            }
            note("csv import done")

            // (2) Encrypted store writes of pre-parsed residents.
            try NodeStore.initialize(at: NodeDirectory(work + "/node"), logger: logger)
            let store = try NodeStore.open(NodeDirectory(work + "/node"), logger: logger)
            let tenant = try store.tenant(try store.addTenant(code, name: "松江市").code)
            let batches = stride(from: 0, to: population.count, by: 1_000).map { Array(population[$0..<min($0 + 1_000, population.count)]) }
            let encryptedWriteSeconds = try time {
                for batch in batches { _ = try tenant.upsertResidents(batch, sync: true) }
            }
            note("encrypted writes done")

            // (3) Raw RocksDB: plaintext values under plaintext keys, same batches, synced.
            let raw = try Database.open(path: work + "/raw")
            let rawResidents = try raw.createColumnFamily(named: "residents")
            let rawIndex = try raw.createColumnFamily(named: "number-index")
            let rawWriteSeconds = try time {
                for batch in batches {
                    let wb = WriteBatch()
                    for r in batch {
                        let key = Array(r.addressNumber.digits.utf8)
                        wb.put(key, r.encoded(), in: rawResidents)
                        wb.put(Array(r.individualNumber.digits.utf8), key, in: rawIndex)
                    }
                    try raw.write(wb, sync: true)
                }
            }
            note("raw writes done")

            // Same shape on disk before reading: everything flushed and compacted.
            try store.flushAndCompact()
            for cf in [rawResidents, rawIndex] { try raw.flush(cf); try raw.compact(cf) }

            var rng = SeededGenerator(seed: seed ^ 0x9E37_79B9)
            let picks = (0..<lookups).map { _ in population[Int(rng.next() % UInt64(population.count))].individualNumber }

            // (4)/(5) Point lookups.
            var found = 0
            let encryptedGetSeconds = try time {
                for n in picks where try tenant.resident(number: n) != nil { found += 1 }
            }
            guard found == lookups else { throw CLIFailure("encrypted lookups found \(found) of \(lookups)") }
            found = 0
            let rawGetSeconds = try time {
                for n in picks {
                    guard let key = try raw.get(Array(n.digits.utf8), in: rawIndex),
                          let value = try raw.get(key, in: rawResidents) else { continue }
                    _ = try Resident(decoding: value)
                    found += 1
                }
            }
            guard found == lookups else { throw CLIFailure("raw lookups found \(found) of \(lookups)") }

            // Batched lookups.
            let pickBatches = stride(from: 0, to: picks.count, by: lookupBatch).map { Array(picks[$0..<min($0 + lookupBatch, picks.count)]) }
            found = 0
            let encryptedMultiSeconds = try time {
                for b in pickBatches { found += try tenant.residents(numbers: b).count(where: { $0 != nil }) }
            }
            guard found == lookups else { throw CLIFailure("encrypted batched lookups found \(found) of \(lookups)") }
            found = 0
            let rawMultiSeconds = try time {
                for b in pickBatches {
                    let keys = try raw.multiGet(b.map { Array($0.digits.utf8) }, in: rawIndex).compactMap { $0 }
                    for value in try raw.multiGet(keys, in: rawResidents) {
                        if let value { _ = try Resident(decoding: value); found += 1 }
                    }
                }
            }
            guard found == lookups else { throw CLIFailure("raw batched lookups found \(found) of \(lookups)") }

            let n = Double(residents), m = Double(lookups)
            let result = StoreBenchResult(
                residents: residents, lookups: lookups, lookupBatch: lookupBatch,
                csvImportPerSecond: n / importSeconds,
                encryptedWritePerSecond: n / encryptedWriteSeconds,
                rawWritePerSecond: n / rawWriteSeconds,
                encryptedGetPerSecond: m / encryptedGetSeconds,
                rawGetPerSecond: m / rawGetSeconds,
                encryptedMultiGetPerSecond: m / encryptedMultiSeconds,
                rawMultiGetPerSecond: m / rawMultiSeconds,
                build: isDebugBuild ? "debug" : "release")
            print(result.table)
            if let json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                try encoder.encode(result).write(to: URL(fileURLWithPath: json))
                print("wrote \(json)")
            }
        }

        private func time(_ body: () throws -> Void) throws -> Double {
            let start = ContinuousClock.now
            try body()
            return (ContinuousClock.now - start) / .seconds(1)
        }

        private func note(_ text: String) {
            FileHandle.standardError.write(Data("bench: \(text)\n".utf8))
        }
    }
}

#if DEBUG
let isDebugBuild = true
#else
let isDebugBuild = false
#endif

struct StoreBenchResult: Codable {
    var residents: Int
    var lookups: Int
    var lookupBatch: Int
    var csvImportPerSecond: Double
    var encryptedWritePerSecond: Double
    var rawWritePerSecond: Double
    var encryptedGetPerSecond: Double
    var rawGetPerSecond: Double
    var encryptedMultiGetPerSecond: Double
    var rawMultiGetPerSecond: Double
    var build: String

    var table: String {
        func f(_ v: Double) -> String { Int(v).formatted() }
        func r(_ a: Double, _ b: Double) -> String { String(format: "%.2f", a / b) }
        return Table.render(header: ["measure (\(build) build)", "encrypted /s", "raw RocksDB /s", "ratio"], rows: [
            ["CSV import (parse+validate+encrypt+sync)", f(csvImportPerSecond), f(rawWritePerSecond), r(csvImportPerSecond, rawWritePerSecond)],
            ["store write, synced batches of 1,000", f(encryptedWritePerSecond), f(rawWritePerSecond), r(encryptedWritePerSecond, rawWritePerSecond)],
            ["lookup by 個人番号, one at a time", f(encryptedGetPerSecond), f(rawGetPerSecond), r(encryptedGetPerSecond, rawGetPerSecond)],
            ["lookup by 個人番号, MultiGet \(lookupBatch)", f(encryptedMultiGetPerSecond), f(rawMultiGetPerSecond), r(encryptedMultiGetPerSecond, rawMultiGetPerSecond)],
        ])
    }
}
