import ArgumentParser
import Foundation
import RenkeiCSV
import RenkeiCluster
import RenkeiCore
import RenkeiSynth

/// A movers file like `renkei gen movers` writes, for runs where that
/// command is not available yet: real movers (number and the code of the
/// municipality that holds them), misaddressed ones (a real number under
/// another provider's code) and unknown numbers (valid check digit, held by
/// no one).
struct Movers: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a movers CSV (real, misaddressed, unknown) for a cluster, as `renkei gen movers` does.")

    @Option(help: "The cluster directory.")
    var clusterDir: String
    @Option(help: "The municipality the movers move to (excluded as a source).")
    var to: String
    @Option(help: "Rows to write.")
    var count: Int
    @Option(help: "Random seed.")
    var seed: UInt64 = 3
    @Option(help: "Share of misaddressed rows (a real number under another provider's code).")
    var misaddressed: Double = 0.1
    @Option(help: "Share of unknown numbers.")
    var unknown: Double = 0.1
    @Option(help: "Output CSV.")
    var out: String

    func run() throws {
        let spec = try ClusterState.load(directory: clusterDir).spec
        let sources = spec.nodes.flatMap(\.municipalities).filter { $0.code != to }
        guard !sources.isEmpty else { throw Failure("the cluster has no municipality other than \(to)") }
        let generators = try sources.map {
            PopulationGenerator(spec: PopulationSpec(municipality: try MunicipalityCode($0.code), count: $0.residents, seed: spec.seed))
        }
        var rng = SeededGenerator(seed: seed)
        let csv = try CSVWriter(path: out)
        try csv.write([Workload.codeColumn, Workload.numberColumn, "氏名カナ", "生年月日"])
        var kinds = [0, 0, 0]
        for _ in 0..<count {
            let roll = Double(rng.next() % 1_000_000) / 1_000_000
            let m = Int(rng.next() % UInt64(sources.count))
            if roll < unknown {
                var digits = ""
                for _ in 0..<11 { digits += String(rng.next() % 10) }
                let number = try IndividualNumber.completing(firstEleven: digits)
                try csv.write([sources[m].code, number.digits, "ミチ タロウ", "1980-01-01"])
                kinds[2] += 1
                continue
            }
            let person = generators[m].person(at: Int(rng.next() % UInt64(sources[m].residents))).resident
            var code = sources[m].code
            if roll < unknown + misaddressed, sources.count > 1 {
                let other = (m + 1 + Int(rng.next() % UInt64(sources.count - 1))) % sources.count
                code = sources[other].code
                kinds[1] += 1
            } else {
                kinds[0] += 1
            }
            try csv.write([code, person.individualNumber.digits, person.nameKana, person.dateOfBirth.iso])
        }
        try csv.finish()
        note("wrote \(out): \(kinds[0]) real, \(kinds[1]) misaddressed, \(kinds[2]) unknown")
    }
}
