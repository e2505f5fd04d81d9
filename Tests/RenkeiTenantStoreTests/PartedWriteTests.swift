import Foundation
import Testing
import RenkeiCore
import RenkeiStore
import RenkeiSynth
@testable import RenkeiTenantStore

/// A write batch whose change-log entry would exceed what one request to the
/// vault carries goes out in atomic parts; the counts stay exact and a
/// conflict anywhere still writes nothing.
@Suite struct PartedWriteTests {
    /// The generated people with the longest names and addresses the rules allow
    /// (3-byte UTF-8 characters): about 1.1 KB per resident sealed, so 10,000 of them log ~12 MB.
    static func longResidents(_ count: Int) throws -> [Resident] {
        try people(matsue, count: count, seed: 11).map { p in
            let r = p.resident
            return try Resident(addressNumber: r.addressNumber, individualNumber: r.individualNumber,
                                name: String(repeating: "松", count: Resident.maxNameCharacters),
                                nameKana: String(repeating: "マ", count: Resident.maxNameCharacters),
                                dateOfBirth: r.dateOfBirth, sex: r.sex,
                                address: String(repeating: "町", count: Resident.maxAddressCharacters))
        }
    }

    @Test func aBatchLargerThanOneChangeEntryIsWrittenInPartsWithExactCounts() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let residents = try Self.longResidents(TenantPartition.maxBatchRows)
        let before = store.db.lastChangeSequence
        let outcome = try t.upsertResidents(residents)
        #expect(outcome.inserted == residents.count)
        #expect(try t.counts().residents == residents.count)
        let entries = store.db.lastChangeSequence - before
        #expect(entries >= 3, "10,000 long residents fit in \(entries) change entries; expected a split")
        // Every entry is one the vault accepts.
        let logged = try store.db.changes(after: before, maxEntries: 1_000, maxBytes: Int.max)
        #expect(logged.count == Int(entries))
        #expect(logged.allSatisfy { $0.payload.count <= ChangeEntry.maxPayloadBytes })
        // Writing the same batch again changes nothing.
        let again = try t.upsertResidents(residents)
        #expect(again.unchanged == residents.count && again.inserted == 0)
        #expect(store.db.lastChangeSequence == before + entries)
    }

    @Test func aConflictInTheLastRowOfALargeBatchWritesNothing() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        var residents = try Self.longResidents(6_000)
        let stored = residents[0]
        _ = try t.upsertResidents([stored])
        // The last row takes the first resident's number under another 宛名番号.
        let last = residents[residents.count - 1]
        residents[residents.count - 1] = try Resident(
            addressNumber: last.addressNumber, individualNumber: stored.individualNumber, name: last.name,
            nameKana: last.nameKana, dateOfBirth: last.dateOfBirth, sex: last.sex, address: last.address)
        residents.removeFirst()
        let before = store.db.lastChangeSequence
        #expect(throws: NodeError.self) { try t.upsertResidents(residents) }
        #expect(store.db.lastChangeSequence == before)
        #expect(try t.counts().residents == 1)
    }

    @Test func largeVaccinationBatchesKeepExactCounts() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let generated = people(matsue, count: 4_000, seed: 5)
        for chunk in stride(from: 0, to: generated.count, by: 1_000) {
            _ = try t.upsertResidents(generated[chunk..<min(chunk + 1_000, generated.count)].map(\.resident))
        }
        let doses = Array(generated.flatMap(\.vaccinations).prefix(TenantPartition.maxBatchRows))
        let outcome = try t.upsertVaccinations(doses)
        #expect(outcome.inserted == doses.count)
        #expect(try t.counts().vaccinations == doses.count)
    }
}
