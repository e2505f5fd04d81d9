import ArgumentParser
import Foundation
import RenkeiCSV
import RenkeiCore
import RenkeiSynth

/// `renkei gen`: synthetic data. A group since `movers` joined: ArgumentParser
/// parses a parent's own options before a subcommand, so the population
/// generator (with required options) became the default subcommand;
/// `renkei gen --code … --count … --out …` works as before.
struct GenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gen",
        abstract: "Generate synthetic data: a municipality's population (the default), or a bulk transfer-in input (movers).",
        subcommands: [GenPopulation.self, Movers.self],
        defaultSubcommand: GenPopulation.self
    )
}

struct GenPopulation: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "population",
        abstract: "Generate a realistic, deterministic synthetic population for a municipality.",
        discussion: """
        Writes OUT/residents.csv and OUT/vaccinations.csv in the documented CSV formats \
        (Ops/csv-formats.md). The same --code, --count, --seed and --as-of always give the same files. \
        Individual Numbers have valid check digits and are unique; names, addresses, ages and dose \
        histories follow the municipality and Japan's COVID-19 campaign. The data is synthetic: \
        any resemblance to a real person is chance.
        """
    )

    @Option(help: "The municipality's 6-digit code.")
    var code: String
    @Option(help: "Number of residents (1 to 10,000,000).")
    var count: Int
    @Option(help: "Random seed.")
    var seed: UInt64 = 1
    @Option(help: "The day the population is seen on (ages, end of dose histories), YYYY-MM-DD.")
    var asOf: String = "2025-03-31"
    @Option(help: "Output directory (created if missing).")
    var out: String
    @Option(help: "Output text encoding: utf-8 or cp932.")
    var encoding: String = "utf-8"
    @Option(help: "Progress display: auto, lines or none.")
    var progress: ProgressMode = .auto

    func validate() throws {
        guard (1...10_000_000).contains(count) else { throw ValidationError("--count must be between 1 and 10,000,000") }
        guard TextEncoding(name: encoding) != nil else { throw ValidationError("--encoding must be utf-8 or cp932") }
    }

    func run() throws {
        try reportingFailures {
            let code = try municipalityCode(code)
            let asOfDate: LocalDate
            do throws(RenkeiCore.ValidationError) { asOfDate = try LocalDate(parsing: asOf) } catch { throw ValidationError("--as-of: \(error.message)") }
            let encoding = TextEncoding(name: encoding)!
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            let residents = try CSVWriter(path: out + "/residents.csv", encoding: encoding)
            let vaccinations = try CSVWriter(path: out + "/vaccinations.csv", encoding: encoding)
            try residents.write(ResidentCSVFormat.columns)
            try vaccinations.write(VaccinationCSVFormat.columns)
            let generator = PopulationGenerator(spec: PopulationSpec(municipality: code, count: count, seed: seed, asOf: asOfDate))
            let display = ProgressDisplay(mode: progress)
            // A bar redraws cheaply; lines go to logs, so fewer of them.
            let every = progress == .lines ? 100_000 : 1_000
            var doses = 0
            for (i, person) in generator.enumerated() {
                try residents.write(ResidentCSVFormat.fields(of: person.resident))
                for record in person.vaccinations {
                    try vaccinations.write(VaccinationCSVFormat.fields(of: record))
                }
                doses += person.vaccinations.count
                if i % every == 0 { display.update(phase: "generating", done: i, total: count, unit: "residents") }
            }
            try residents.finish()
            try vaccinations.finish()
            display.update(phase: "generating", done: count, total: count, unit: "residents", force: true)
            display.finish()
            let name = MunicipalityNames.name(of: code) ?? "municipality \(code)"
            print("wrote \(count) residents and \(doses) vaccination records of \(name) (\(code)) to \(out) [\(encoding.rawValue)]")
        }
    }
}
