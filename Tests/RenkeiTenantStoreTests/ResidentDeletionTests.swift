import Foundation
import Testing
import RenkeiCore
import RenkeiSynth
@testable import RenkeiTenantStore

/// Deleting one person removes their resident record, number index entry,
/// vaccination records and received files, and only theirs, with exact counts.
@Suite struct ResidentDeletionTests {
    @Test func deletesOnePersonEverywhereAndNothingElse() throws {
        let node = try TemporaryNode()
        let after: TenantCounts
        do {
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let residents = vaccinatedPeople(matsue, count: 3)
        _ = try t.upsertResidents(residents.map { try settled($0.resident) })
        _ = try t.upsertVaccinations(residents.flatMap(\.vaccinations))
        let gone = residents[0]
        // A file received for the person from Izumo (stored under their number).
        let received = try receivedFile(gone, from: izumo, on: "2025-04-01")
        _ = try t.storeReceivedFile(received)
        let before = try t.counts()

        let deletion = try t.deleteResident(number: gone.resident.individualNumber)
        #expect(deletion == ResidentDeletion(residentDeleted: true, vaccinationsDeleted: gone.vaccinations.count, receivedFilesDeleted: 1))
        #expect(try t.resident(number: gone.resident.individualNumber) == nil)
        #expect(try t.vaccinations(of: gone.resident.addressNumber).isEmpty)
        #expect(try t.receivedFiles(number: gone.resident.individualNumber).isEmpty)
        after = try t.counts()
        #expect(after.residents == before.residents - 1)
        #expect(after.vaccinations == before.vaccinations - gone.vaccinations.count)
        #expect(after.receivedFiles == before.receivedFiles - 1)
        // The others are untouched.
        for other in residents.dropFirst() {
            #expect(try t.residentFile(number: other.resident.individualNumber)?.vaccinations.count == other.vaccinations.count)
        }
        // Again: nothing left to delete.
        #expect(try t.deleteResident(number: gone.resident.individualNumber).isEmpty)
        }
        // The counts survive a reopen (they were written in the same batch).
        let reopened = try node.open()
        #expect(try reopened.tenant(matsue).counts() == after)
    }

    @Test func aReceivedFileAloneIsDeletedToo() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let person = try #require(vaccinatedPeople(izumo, count: 1).first)
        _ = try t.storeReceivedFile(try receivedFile(person, from: izumo))
        let deletion = try t.deleteResident(number: person.resident.individualNumber)
        #expect(deletion == ResidentDeletion(residentDeleted: false, vaccinationsDeleted: 0, receivedFilesDeleted: 1))
        #expect(try t.counts().receivedFiles == 0)
    }
}
