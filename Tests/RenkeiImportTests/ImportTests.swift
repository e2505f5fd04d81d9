import Foundation
import Logging
import Testing
import RenkeiCSV
import RenkeiCore
import RenkeiImport
import RenkeiSynth
import RenkeiTenantStore

let matsue = try! MunicipalityCode("322016")

/// A node with one tenant, and a scratch directory for CSV files.
final class ImportFixture {
    let root = NSTemporaryDirectory() + "renkei-import-\(UUID().uuidString)"
    let store: NodeStore
    let tenant: TenantPartition
    let logger = Logger(label: "test")
    let people: [GeneratedPerson]

    init(count: Int = 200) throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try NodeStore.initialize(at: NodeDirectory(root + "/node"), logger: logger)
        store = try NodeStore.open(NodeDirectory(root + "/node"), logger: logger)
        tenant = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let g = PopulationGenerator(spec: PopulationSpec(municipality: matsue, count: count, seed: 11))
        people = (0..<count).map { g.person(at: $0) }
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    /// Writes rows (header first) to a CSV file and returns its path.
    func csv(_ name: String, _ rows: [[String]], encoding: TextEncoding = .utf8) throws -> String {
        let path = root + "/" + name
        let w = try CSVWriter(path: path, encoding: encoding)
        for row in rows { try w.write(row) }
        try w.finish()
        return path
    }

    var residentRows: [[String]] { [ResidentCSVFormat.columns] + people.map { ResidentCSVFormat.fields(of: $0.resident) } }
    var vaccinationRows: [[String]] {
        [VaccinationCSVFormat.columns] + people.flatMap(\.vaccinations).map(VaccinationCSVFormat.fields(of:))
    }

    func importResidents(_ path: String, encoding: TextEncoding = .utf8) throws(ImportError) -> ImportReport {
        try ResidentImporter(partition: tenant, options: ImportOptions(encoding: encoding, batchRows: 64), logger: logger).run(path: path)
    }

    func importVaccinations(_ path: String) throws(ImportError) -> ImportReport {
        try VaccinationImporter(partition: tenant, options: ImportOptions(batchRows: 64), logger: logger).run(path: path)
    }

    /// Expects a rejection whose first error names `field` and `line`, and that nothing changed.
    func expectRejected(_ path: String, field: String, line: Int? = nil, code: ImportError.Code = .rejected,
                        vaccinations: Bool = false, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let before = try tenant.counts()
        do {
            _ = vaccinations ? try importVaccinations(path) : try importResidents(path)
            Issue.record("a bad file was accepted", sourceLocation: sourceLocation)
        } catch {
            #expect(error.code == code, sourceLocation: sourceLocation)
            #expect(error.description.contains(field), "\(error)", sourceLocation: sourceLocation)
            if let line {
                #expect(error.rowErrors.first?.line == line, "\(error)", sourceLocation: sourceLocation)
            }
            #expect(error.description.contains("nothing was stored"), sourceLocation: sourceLocation)
        }
        #expect(try tenant.counts() == before, "a rejected file changed stored data", sourceLocation: sourceLocation)
    }
}

@Suite struct ResidentImportTests {
    @Test func importThenReimportChangesNothing() throws {
        let f = try ImportFixture()
        let path = try f.csv("residents.csv", f.residentRows)
        let first = try f.importResidents(path)
        #expect(first.rows == 200)
        #expect(first.outcome == WriteOutcome(inserted: 200))
        let second = try f.importResidents(path)
        #expect(second.outcome == WriteOutcome(unchanged: 200))
        #expect(try f.tenant.counts().residents == 200)
        let p = f.people[17].resident
        #expect(try f.tenant.resident(number: p.individualNumber) == p)
    }

    @Test func cp932FileImports() throws {
        let f = try ImportFixture(count: 50)
        let path = try f.csv("residents-sjis.csv", f.residentRows, encoding: .cp932)
        // Really CP932 on disk: not valid UTF-8.
        let raw = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(String(validating: raw, as: UTF8.self) == nil)
        _ = try f.importResidents(path, encoding: .cp932)
        let p = f.people[3].resident
        #expect(try f.tenant.resident(number: p.individualNumber)?.name == p.name)
        // Read as UTF-8 it is refused, naming the encoding.
        try f.expectRejected(path, field: "utf-8", code: .unreadable)
    }

    @Test func wrongCheckDigitIsRejectedWithLineAndField() throws {
        let f = try ImportFixture()
        var rows = f.residentRows
        let n = rows[5][1]
        rows[5][1] = String(n.dropLast()) + String((Int(String(n.last!))! + 1) % 10)
        let path = try f.csv("bad.csv", rows)
        try f.expectRejected(path, field: "個人番号", line: 6)
        // The message never repeats the rejected number.
        do { _ = try f.importResidents(path) } catch { #expect(!error.description.contains(rows[5][1])) }
    }

    @Test func badDateIsRejected() throws {
        let f = try ImportFixture()
        var rows = f.residentRows
        rows[10][4] = "1980-02-30"
        try f.expectRejected(try f.csv("bad.csv", rows), field: "生年月日", line: 11)
    }

    @Test func missingColumnIsRejected() throws {
        let f = try ImportFixture()
        let rows = f.residentRows.map { Array($0.dropFirst(2)) }  // no 宛名番号, 個人番号
        try f.expectRejected(try f.csv("bad.csv", rows), field: "個人番号", code: .unreadable)
    }

    @Test func badMunicipalityCodeInAColumnIsRejected() throws {
        let f = try ImportFixture()
        var rows = f.residentRows
        rows[3][7] = "2020-04-01"
        rows[3][8] = "322017"  // wrong check digit
        try f.expectRejected(try f.csv("bad.csv", rows), field: "転入元自治体コード", line: 4)
    }

    @Test func duplicateNumberInFileIsRejected() throws {
        let f = try ImportFixture()
        var rows = f.residentRows
        rows[9][1] = rows[2][1]
        try f.expectRejected(try f.csv("bad.csv", rows), field: "個人番号", line: 10)
    }

    @Test func wrongFieldCountIsRejected() throws {
        let f = try ImportFixture()
        var rows = f.residentRows
        rows[4].removeLast()
        try f.expectRejected(try f.csv("bad.csv", rows), field: "fields", line: 5)
    }

    @Test func oneBadRowRejectsTheWholeFileAndAllBadRowsAreListed() throws {
        let f = try ImportFixture()
        var rows = f.residentRows
        rows[150][5] = "9"
        rows[190][4] = "yesterday"
        let path = try f.csv("bad.csv", rows)
        do {
            _ = try f.importResidents(path)
            Issue.record("accepted")
        } catch {
            #expect(error.badRowCount == 2)
            #expect(error.rowErrors.map(\.line) == [151, 191])
        }
        #expect(try f.tenant.counts().residents == 0)
    }

    @Test func emptyAndMissingFiles() throws {
        let f = try ImportFixture()
        try f.expectRejected(try f.csv("empty.csv", []), field: "header", code: .unreadable)
        do {
            _ = try f.importResidents(f.root + "/nope.csv")
            Issue.record("imported a missing file")
        } catch {
            #expect(error.code == .unreadable)
        }
    }
}

@Suite struct VaccinationImportExportTests {
    @Test func importExportRoundTripWithoutIndividualNumbers() throws {
        let f = try ImportFixture()
        _ = try f.importResidents(try f.csv("residents.csv", f.residentRows))
        let path = try f.csv("vaccinations.csv", f.vaccinationRows)
        let report = try f.importVaccinations(path)
        let doses = f.people.flatMap(\.vaccinations).count
        #expect(doses > 200)
        #expect(report.outcome.inserted == doses)
        #expect(try f.importVaccinations(path).outcome == WriteOutcome(unchanged: doses))

        let out = f.root + "/export.csv"
        let count = try VaccinationExporter(partition: f.tenant, logger: f.logger).run(to: out)
        #expect(count == doses)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(!text.contains("個人番号"))
        for p in f.people { #expect(!text.contains(p.resident.individualNumber.digits)) }
        // What was exported reads back as the same records.
        let reader = try CSVReader(path: out, encoding: .utf8)
        let header = try CSVHeader(try #require(try reader.next()), required: VaccinationCSVFormat.requiredColumns,
                                   optional: VaccinationCSVFormat.optionalColumns)
        var exported: [VaccinationRecord] = []
        while let record = try reader.next() { exported.append(try VaccinationCSVFormat.parse { header.value($0, in: record) }) }
        #expect(Set(exported) == Set(f.people.flatMap(\.vaccinations)))
    }

    @Test func vaccinationForUnknownResidentIsRejected() throws {
        let f = try ImportFixture()
        let path = try f.csv("vaccinations.csv", f.vaccinationRows)
        try f.expectRejected(path, field: "宛名番号", line: 2, vaccinations: true)
    }

    @Test func ageNotMatchingDateOfBirthIsRejected() throws {
        let f = try ImportFixture()
        _ = try f.importResidents(try f.csv("residents.csv", f.residentRows))
        var rows = f.vaccinationRows
        rows[1][6] = String(Int(rows[1][6])! + 3)
        rows[1][7] = rows[1][6]
        try f.expectRejected(try f.csv("bad.csv", rows), field: "接種日年齢", line: 2, vaccinations: true)
    }

    @Test func unknownProductIsRejected() throws {
        let f = try ImportFixture()
        _ = try f.importResidents(try f.csv("residents.csv", f.residentRows))
        var rows = f.vaccinationRows
        let productColumn = try #require(VaccinationCSVFormat.columns.firstIndex(of: "製品名"))
        let row = try #require(rows.indices.dropFirst().first { !rows[$0][productColumn].isEmpty })
        rows[row][productColumn] = "謎のワクチン"
        try f.expectRejected(try f.csv("bad.csv", rows), field: "製品名", line: row + 1, vaccinations: true)
    }
}
