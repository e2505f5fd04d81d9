import Foundation
import Testing
import RenkeiAudit
import RenkeiCrypto
import RenkeiCore
import RenkeiStore
import RenkeiSynth
@testable import RenkeiTenantStore

let hamada = try! MunicipalityCode("322024")

/// A person with doses, as a file that `source` sends when they move in.
func receivedFile(_ person: GeneratedPerson, from source: MunicipalityCode, on date: String = "2025-04-01",
                  doses: Int? = nil) throws -> ReceivedFile {
    let r = person.resident
    let all = person.vaccinations.map(ReceivedDose.init)
    return try ReceivedFile(source: source, requestID: UUID().uuidString.lowercased(), receivedOn: LocalDate(parsing: date),
                            individualNumber: r.individualNumber, name: r.name, nameKana: r.nameKana,
                            dateOfBirth: r.dateOfBirth, sex: r.sex, doses: doses.map { Array(all.prefix($0)) } ?? all)
}

/// The generated person's resident without any move or death flags.
func settled(_ r: Resident) throws -> Resident {
    try Resident(addressNumber: r.addressNumber, individualNumber: r.individualNumber, name: r.name, nameKana: r.nameKana,
                 dateOfBirth: r.dateOfBirth, sex: r.sex, address: r.address)
}

/// Generated people with at least two doses, who are adults by 2025 (so any move date in 2025 is after birth).
func vaccinatedPeople(_ code: MunicipalityCode, count: Int) -> [GeneratedPerson] {
    people(code, count: 400, seed: 7).filter { $0.vaccinations.count >= 2 }.prefix(count).map { $0 }
}

@Suite struct ReceivedFileTests {
    @Test func roundTripAndIdempotentReStore() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let person = try #require(vaccinatedPeople(izumo, count: 1).first)
        let file = try receivedFile(person, from: izumo)
        #expect(try t.storeReceivedFile(file) == ReceivedStoreOutcome(storage: .stored, residentRegistered: false, movedInSet: false))
        #expect(try t.receivedFiles(number: file.individualNumber) == [file])
        #expect(try t.storeReceivedFile(file).storage == .unchanged)
        #expect(try t.counts().receivedFiles == 1)
        // The same source sends an updated file: it replaces the first.
        let newer = try receivedFile(person, from: izumo, on: "2025-05-01", doses: 1)
        #expect(try t.storeReceivedFile(newer).storage == .replaced)
        #expect(try t.receivedFiles(number: file.individualNumber) == [newer])
        #expect(try t.counts().receivedFiles == 1)
        // Nobody else's number finds it.
        let other = vaccinatedPeople(izumo, count: 2)[1].resident.individualNumber
        #expect(try t.receivedFiles(number: other).isEmpty)
    }

    @Test func filesFromTwoSourcesAreBothKept() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let person = try #require(vaccinatedPeople(izumo, count: 1).first)
        let fromIzumo = try receivedFile(person, from: izumo, on: "2025-04-01")
        let fromHamada = try receivedFile(person, from: hamada, on: "2025-03-01", doses: 1)
        #expect(try t.storeReceivedFile(fromIzumo).storage == .stored)
        #expect(try t.storeReceivedFile(fromHamada).storage == .stored)
        #expect(try t.receivedFiles(number: person.resident.individualNumber) == [fromHamada, fromIzumo], "oldest receipt first")
        #expect(try t.counts().receivedFiles == 2)
    }

    @Test func movedInIsSetOnlyForARegisteredResident() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let two = vaccinatedPeople(izumo, count: 2)
        let registered = try settled(two[0].resident)
        _ = try t.upsertResidents([registered])
        let file = try receivedFile(two[0], from: izumo)
        #expect(try t.storeReceivedFile(file) == ReceivedStoreOutcome(storage: .stored, residentRegistered: true, movedInSet: true))
        let after = try #require(try t.resident(number: registered.individualNumber))
        #expect(after.movedIn == MoveEvent(date: file.receivedOn, otherMunicipality: izumo))
        #expect(after.name == registered.name && after.address == registered.address, "only the flag changes")
        // Storing it again changes neither the file nor the flag.
        #expect(try t.storeReceivedFile(file) == ReceivedStoreOutcome(storage: .unchanged, residentRegistered: true, movedInSet: false))
        // Not registered here: the file is kept, no resident appears.
        let stranger = try receivedFile(two[1], from: izumo)
        #expect(try t.storeReceivedFile(stranger) == ReceivedStoreOutcome(storage: .stored, residentRegistered: false, movedInSet: false))
        #expect(try t.resident(number: two[1].resident.individualNumber) == nil)
        #expect(try t.counts().residents == 1)
    }

    @Test func markMovedOutHasThreeOutcomesAndKeepsTheRecords() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let person = try #require(vaccinatedPeople(matsue, count: 1).first)
        let resident = try settled(person.resident)
        _ = try t.upsertResidents([resident])
        _ = try t.upsertVaccinations(person.vaccinations)
        let day = try LocalDate(parsing: "2025-06-30")
        let unknown = vaccinatedPeople(matsue, count: 2)[1].resident.individualNumber
        #expect(try t.markMovedOut(number: unknown, to: izumo, on: day) == .notFound)
        #expect(try t.markMovedOut(number: resident.individualNumber, to: izumo, on: day) == .marked(previous: nil))
        #expect(try t.markMovedOut(number: resident.individualNumber, to: izumo, on: day) == .alreadyMarked)
        let file = try #require(try t.residentFile(number: resident.individualNumber))
        #expect(file.resident.movedOut == MoveEvent(date: day, otherMunicipality: izumo))
        #expect(!file.resident.isCurrentResident)
        #expect(file.vaccinations.count == person.vaccinations.count, "the provider keeps the records to answer later inquiries")
        // A correction replaces the destination and says what it replaced.
        #expect(try t.markMovedOut(number: resident.individualNumber, to: hamada, on: day)
                == .marked(previous: MoveEvent(date: day, otherMunicipality: izumo)))
        // A date before birth is refused, naming the field.
        do {
            _ = try t.markMovedOut(number: resident.individualNumber, to: izumo, on: resident.dateOfBirth.adding(days: -1))
            Issue.record("accepted a move-out before birth")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("movedOutOn"))
            #expect(!error.description.contains(resident.individualNumber.digits))
        }
    }

    @Test func receivedFilesAndFlagsSurviveReopen() throws {
        let node = try TemporaryNode()
        let person = try #require(vaccinatedPeople(izumo, count: 1).first)
        let file = try receivedFile(person, from: izumo)
        do {
            let store = try node.open()
            let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
            _ = try t.upsertResidents([try settled(person.resident)])
            _ = try t.storeReceivedFile(file)
        }
        let t = try node.open().tenant(matsue)
        #expect(try t.receivedFiles(number: file.individualNumber) == [file])
        #expect(try t.resident(number: file.individualNumber)?.movedIn?.otherMunicipality == izumo)
        #expect(try t.counts() == TenantCounts(residents: 1, vaccinations: 0, receivedFiles: 1))
    }

    @Test func aTenantFromBeforeReceivedFilesGetsTheColumnFamilyOnOpen() throws {
        let node = try TemporaryNode()
        let residents = people(matsue, count: 20).map(\.resident)
        do {
            let store = try node.open()
            let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
            _ = try t.upsertResidents(residents)
            // What a data directory written before this change looks like:
            // three column families and two-field counts.
            try store.db.dropColumnFamily(try #require(store.db.columnFamily(named: "t322016.received")))
            var writer = ByteWriter()
            writer.int(20)
            writer.int(0)
            try store.db.put(TenantCounter.key(matsue), writer.bytes, in: store.meta)
        }
        let store = try node.open()
        #expect(store.db.columnFamily(named: "t322016.received") != nil)
        let t = try store.tenant(matsue)
        #expect(try t.counts() == TenantCounts(residents: 20))
        #expect(try t.resident(number: residents[3].individualNumber) == residents[3])
        let person = try #require(vaccinatedPeople(izumo, count: 1).first)
        #expect(try t.storeReceivedFile(try receivedFile(person, from: izumo)).storage == .stored)
        #expect(try t.counts() == TenantCounts(residents: 20, receivedFiles: 1))
    }

    @Test func deletingATenantDropsItsReceivedFiles() throws {
        let node = try TemporaryNode()
        let person = try #require(vaccinatedPeople(izumo, count: 1).first)
        let file = try receivedFile(person, from: izumo)
        let store = try node.open()
        _ = try store.tenant(try store.addTenant(matsue, name: "松江市").code).storeReceivedFile(file)
        try store.deleteTenant(matsue)
        #expect(store.db.columnFamily(named: "t322016.received") == nil)
        let again = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        #expect(try again.receivedFiles(number: file.individualNumber).isEmpty)
        #expect(try again.counts() == TenantCounts())
    }

    @Test func receivedFilesAreNotInPlaintextAtRest() throws {
        let node = try TemporaryNode()
        let persons = vaccinatedPeople(izumo, count: 20)
        let files = try persons.map { try receivedFile($0, from: izumo) }
        do {
            let store = try node.open()
            let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
            for file in files { _ = try t.storeReceivedFile(file) }
            try store.flushAndCompact()
        }
        let stored = allFiles(under: node.directory.root)
        #expect(stored.contains { $0.hasSuffix(".sst") }, "the scan must cover SST files")
        var needles: [[UInt8]] = []
        for file in files {
            needles.append(Array(file.individualNumber.digits.utf8))
            needles.append(Array(file.name.utf8))
            needles.append(Array(file.nameKana.utf8))
        }
        for path in stored {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            for needle in needles {
                #expect(bytes.range(of: Data(needle)) == nil, "plaintext personal data in \(path)")
            }
        }
        // The scan itself works: the needles are in the plaintext encoding.
        #expect(Data(files[0].encoded()).range(of: Data(needles[0])) != nil)
        #expect(Data(files[0].encoded()).range(of: Data(needles[1])) != nil)
    }

    @Test func validationNamesTheField() throws {
        let person = try #require(vaccinatedPeople(izumo, count: 1).first)
        var doses = person.vaccinations.map(ReceivedDose.init)
        let i = try #require(doses.firstIndex { $0.judgement == .vaccinated })
        doses[i].lotNumber = nil
        let r = person.resident
        do {
            _ = try ReceivedFile(source: izumo, requestID: UUID().uuidString, receivedOn: LocalDate(parsing: "2025-04-01"),
                                 individualNumber: r.individualNumber, name: r.name, nameKana: r.nameKana,
                                 dateOfBirth: r.dateOfBirth, sex: r.sex, doses: doses)
            Issue.record("accepted a vaccinated dose without a lot number")
        } catch {
            #expect(error.field == "doses[\(i)].lotNumber (Lot.No.)")
            #expect(error.rule == .required)
        }
        do {
            _ = try ReceivedFile(source: izumo, requestID: "not a uuid!", receivedOn: LocalDate(parsing: "2025-04-01"),
                                 individualNumber: r.individualNumber, name: r.name, nameKana: r.nameKana,
                                 dateOfBirth: r.dateOfBirth, sex: r.sex, doses: [])
            Issue.record("accepted a bad request id")
        } catch {
            #expect(error.field.hasPrefix("requestID"))
        }
        let file = try receivedFile(person, from: izumo)
        #expect(!"\(file)".contains(r.individualNumber.digits) && !"\(file)".contains(r.name))
        #expect(try ReceivedFile(decoding: file.encoded()) == file)
    }
}

@Suite struct AuditIntegrationTests {
    @Test func auditLogOutlivesADeletedTenant() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let number = people(matsue, count: 1)[0].resident.individualNumber
        let index = t.numberIndexHex(number)
        #expect(index.count == 64 && index.allSatisfy { "0123456789abcdef".contains($0) })
        #expect(index == t.numberIndexHex(number), "deterministic")
        let log = try store.auditLog(matsue)
        #expect(try store.auditLog(matsue) === log)
        try log.append(AuditRecord(event: .movedOutMarked, outcome: .marked, targetCode: izumo, numberIndex: index))
        try store.deleteTenant(matsue)
        // Still there, still the same log, still appendable and verifiable.
        #expect(try store.auditLog(matsue).append(AuditRecord(event: AuditEvent(rawValue: "tenant-deleted"), outcome: .stored)).seq == 2)
        #expect(FileManager.default.fileExists(atPath: node.directory.auditDirectory + "/322016.log"))
        let key = try NodeStore.loadMasterKey(node.directory, source: .dataDirectory).auditKey(for: "322016")
        let report = try AuditVerifier.verify(path: node.directory.auditDirectory + "/322016.log", code: matsue, key: key)
        #expect(report.isIntact && report.verifiedEntries == 2)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: node.directory.auditDirectory + "/322016.log"))
        #expect(bytes.range(of: Data(number.digits.utf8)) == nil)
    }
}
