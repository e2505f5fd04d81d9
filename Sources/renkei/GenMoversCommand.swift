import ArgumentParser
import Foundation
import RenkeiCSV
import RenkeiCluster
import RenkeiCore
import RenkeiSynth

extension GenCommand {
    struct Movers: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "movers",
            abstract: "Generate a bulk transfer-in input (転入者一覧) for a cluster municipality (synthetic data).",
            discussion: """
            Writes the input of `renkei inquire bulk` (0600): 前住所地市区町村コード,個人番号[,氏名カナ,生年月日] \
            with a realistic mix of rows for --to:
              real movers    residents of the cluster's OTHER municipalities, regenerated from the seed \
            and counts in DIR/cluster.json, with their true previous code (the provider answers MATCH);
              misaddressed   (--misaddressed, a fraction) a real resident's number with the code of another \
            cluster municipality (NO_MATCH);
              unknown        (--unknown, a fraction) a number with a valid check digit that no resident \
            of the named municipality has (NO_MATCH).
            --with-hints adds 氏名カナ and 生年月日 as the register of --to would hold them. The same \
            arguments always give the same file. The people are synthetic: any resemblance to a real \
            person or number is chance.
            """)

        @Option(help: ArgumentHelp("The cluster directory (with cluster.json).", valueName: "dir"))
        var clusterDir: String
        @Option(help: ArgumentHelp("The municipality the people move into (a cluster municipality).", valueName: "code"))
        var to: String
        @Option(help: "Rows to write (1 to 1,000,000).")
        var count: Int
        @Option(help: "Random seed of the mix.")
        var seed: UInt64 = 1
        @Option(help: ArgumentHelp("The CSV to write.", valueName: "file"))
        var out: String
        @Option(help: "Fraction of rows with a wrong previous code (0-1).")
        var misaddressed: Double = 0.1
        @Option(help: "Fraction of rows with a number no resident has (0-1).")
        var unknown: Double = 0.1
        @Flag(help: "Add the optional 氏名カナ and 生年月日 hint columns.")
        var withHints = false

        func validate() throws {
            guard (1...1_000_000).contains(count) else { throw ValidationError("--count: must be between 1 and 1,000,000") }
            guard (0...1).contains(misaddressed), (0...1).contains(unknown), misaddressed + unknown <= 1 else {
                throw ValidationError("--misaddressed, --unknown: fractions between 0 and 1, together at most 1")
            }
        }

        func run() throws {
            try reportingFailures {
                let destination = try municipalityCode(to, option: "--to")
                let spec: ClusterSpec
                do throws(ClusterError) {
                    spec = try ClusterState.load(directory: clusterDir).spec
                } catch {
                    throw CLIFailure(error.message, exitCode: .validationFailure)
                }
                guard spec.municipality(destination.rawValue) != nil else {
                    throw CLIFailure("--to: \(destination) is not a municipality of this cluster (it has \(spec.codes.joined(separator: ", ")))",
                                     exitCode: .validationFailure)
                }
                let plan: [[String]]
                do throws(MoversError) {
                    plan = try MoversPlan(spec: spec, destination: destination, count: count, seed: seed,
                                          misaddressed: misaddressed, unknown: unknown, withHints: withHints).rows()
                } catch {
                    throw CLIFailure(error.message, exitCode: .validationFailure)
                }
                let writer = try CSVWriter(path: out)
                try writer.write(withHints ? BulkCSVFormat.requiredColumns + BulkCSVFormat.optionalColumns : BulkCSVFormat.requiredColumns)
                for row in plan { try writer.write(row) }
                try writer.finish()
                FileHandle.standardError.write(Data("wrote \(plan.count) rows to \(out) (synthetic data)\n".utf8))
            }
        }
    }
}

struct MoversError: Error {
    let message: String
}

/// The rows of a movers file, decided from the cluster spec and the seed.
struct MoversPlan {
    let spec: ClusterSpec
    let destination: MunicipalityCode
    let count: Int
    let seed: UInt64
    let misaddressed: Double
    let unknown: Double
    let withHints: Bool

    func rows() throws(MoversError) -> [[String]] {
        let sources: [(code: MunicipalityCode, residents: Int)] = spec.codes.compactMap { code in
            guard code != destination.rawValue, let m = spec.municipality(code), let parsed = try? MunicipalityCode(code) else { return nil }
            return (parsed, m.residents)
        }
        guard !sources.isEmpty else { throw MoversError(message: "--to: the cluster has no other municipality to move from") }
        let population = sources.reduce(0) { $0 + $1.residents }
        let unknownCount = Int((Double(count) * unknown).rounded())
        let misaddressedCount = min(Int((Double(count) * misaddressed).rounded()), count - unknownCount)
        let realCount = count - unknownCount - misaddressedCount
        guard realCount + misaddressedCount <= population else {
            throw MoversError(message: "--count: the other municipalities have \(population) residents; at most that many real rows")
        }
        var random = SeededGenerator(seed: seed)
        let generators = Dictionary(uniqueKeysWithValues: sources.map {
            ($0.code, PopulationGenerator(spec: PopulationSpec(municipality: $0.code, count: $0.residents, seed: spec.seed)))
        })
        // Distinct people, spread over the sources by their size.
        var chosen = Set<Int>()
        func pick() -> (MunicipalityCode, GeneratedPerson) {
            var n: Int
            repeat { n = Int.random(in: 0..<population, using: &random) } while !chosen.insert(n).inserted
            for s in sources {
                if n < s.residents { return (s.code, generators[s.code]!.person(at: n)) }
                n -= s.residents
            }
            fatalError("index beyond the population")
        }
        func hints(_ p: GeneratedPerson?) -> [String] {
            guard withHints else { return [] }
            guard let p else { return ["", ""] }
            return [p.resident.nameKana, p.resident.dateOfBirth.iso]
        }
        var rows: [[String]] = []
        for _ in 0..<realCount {
            let (code, person) = pick()
            rows.append([code.rawValue, person.resident.individualNumber.digits] + hints(person))
        }
        let allCodes = spec.codes.compactMap { try? MunicipalityCode($0) }
        for _ in 0..<misaddressedCount {
            let (code, person) = pick()
            let wrong = allCodes.filter { $0 != code && $0 != destination }
            let candidates = wrong.isEmpty ? allCodes.filter { $0 != code } : wrong
            guard let other = candidates.randomElement(using: &random) else {
                throw MoversError(message: "--misaddressed: the cluster needs a second municipality to misaddress to")
            }
            rows.append([other.rawValue, person.resident.individualNumber.digits] + hints(person))
        }
        var unknownCodes: [MunicipalityCode: Set<String>] = [:]
        for _ in 0..<unknownCount {
            let source = sources[Int.random(in: 0..<sources.count, using: &random)]
            if unknownCodes[source.code] == nil {
                let g = generators[source.code]!
                unknownCodes[source.code] = Set((0..<source.residents).map { g.person(at: $0).resident.individualNumber.digits })
            }
            var number: IndividualNumber
            repeat {
                let first = (0..<11).map { _ in String(Int.random(in: 0...9, using: &random)) }.joined()
                number = try! IndividualNumber.completing(firstEleven: first)
            } while unknownCodes[source.code]!.contains(number.digits)
            rows.append([source.code.rawValue, number.digits] + hints(nil))
        }
        rows.shuffle(using: &random)
        return rows
    }
}
