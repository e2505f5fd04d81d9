import Foundation
import Testing
import RenkeiCore
import RenkeiCrypto
import RenkeiStore
import RenkeiSynth
@testable import RenkeiTenantStore

@Suite struct TenantIsolationTests {
    @Test func sameNumberInTwoTenantsStaysSeparate() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let a = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let b = try store.tenant(try store.addTenant(izumo, name: "出雲市").code)
        let person = people(matsue, count: 1)[0].resident
        // The same person, as the other municipality records them (another address number, address).
        let inIzumo = try Resident(addressNumber: AddressNumber("9000001"), individualNumber: person.individualNumber,
                                   name: person.name, nameKana: person.nameKana, dateOfBirth: person.dateOfBirth,
                                   sex: person.sex, address: "島根県出雲市今市町70番地")
        _ = try a.upsertResidents([person])
        #expect(try b.resident(number: person.individualNumber) == nil, "a number stored in 松江市 must not be found through 出雲市")
        _ = try b.upsertResidents([inIzumo])
        #expect(try a.resident(number: person.individualNumber)?.address == person.address)
        #expect(try b.resident(number: person.individualNumber)?.address == "島根県出雲市今市町70番地")
        #expect(try a.counts().residents == 1)
        #expect(try b.counts().residents == 1)
    }

    @Test func ciphertextCopiedToAnotherTenantFailsToOpen() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let a = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let b = try store.tenant(try store.addTenant(izumo, name: "出雲市").code)
        let person = people(matsue, count: 1)[0].resident
        _ = try a.upsertResidents([person])
        let stolen = try #require(try store.db.get(a.residentKey(person.addressNumber), in: a.residentsCF))
        // Plant A's ciphertext where B would look for the same address number,
        // and point B's number index at it.
        try store.db.put(b.residentKey(person.addressNumber), stolen, in: b.residentsCF)
        try store.db.put(b.numberKey(person.individualNumber), b.residentKey(person.addressNumber), in: b.numberIndexCF)
        do {
            _ = try b.resident(number: person.individualNumber)
            Issue.record("tenant B decrypted tenant A's record")
        } catch {
            #expect(error.code == .corrupted)
            #expect(!error.description.contains(person.individualNumber.digits))
        }
        // Within A, moving a value to another record key fails too.
        let other = people(matsue, count: 2)[1].resident
        try store.db.put(a.residentKey(other.addressNumber), stolen, in: a.residentsCF)
        #expect(throws: NodeError.self) { try a.resident(addressNumber: other.addressNumber) }
    }

    @Test func unknownTenantIsNamedAndHasNoData() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        do {
            _ = try store.tenant(izumo)
            Issue.record("found a tenant that was never added")
        } catch {
            #expect(error.code == .tenantNotFound)
            #expect(error.message.contains("322032"))
        }
    }
}

@Suite struct EncryptionAtRestTests {
    @Test func noPlaintextPersonalDataInAnyFile() throws {
        let node = try TemporaryNode()
        let generated = people(matsue, count: 2_000, seed: 3)
        do {
            let store = try node.open()
            let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
            _ = try t.upsertResidents(generated.map(\.resident))
            _ = try t.upsertVaccinations(generated.flatMap(\.vaccinations))
            try store.flushAndCompact()
        }
        var needles: [[UInt8]] = []
        for p in generated.prefix(300) {
            needles.append(Array(p.resident.individualNumber.digits.utf8))
            needles.append(Array(p.resident.name.utf8))
            needles.append(Array(p.resident.address.utf8))
            needles.append(Array(p.resident.nameKana.utf8))
        }
        let files = allFiles(under: node.directory.root)
        #expect(files.contains { $0.hasSuffix(".sst") }, "the scan must cover SST files")
        #expect(files.contains { $0.hasSuffix(".log") }, "the scan must cover the WAL")
        for file in files {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            for needle in needles {
                #expect(bytes.range(of: Data(needle)) == nil, "plaintext personal data in \(file)")
            }
        }
        // The scan itself works: the same needles are found in a plaintext encoding.
        #expect(Data(generated[0].resident.encoded()).range(of: Data(needles[0])) != nil)
    }
}

@Suite struct WriteTests {
    @Test func reUpsertIsIdempotentAndUpdatesAreCounted() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let generated = people(matsue, count: 300)
        let residents = generated.map(\.resident)
        #expect(try t.upsertResidents(residents) == WriteOutcome(inserted: 300))
        #expect(try t.upsertResidents(residents) == WriteOutcome(unchanged: 300))
        let r = residents[5]
        let moved = try Resident(addressNumber: r.addressNumber, individualNumber: r.individualNumber, name: r.name,
                                 nameKana: r.nameKana, dateOfBirth: r.dateOfBirth, sex: r.sex, address: "島根県松江市殿町1番地")
        #expect(try t.upsertResidents([moved]) == WriteOutcome(updated: 1))
        #expect(try t.resident(number: r.individualNumber)?.address == "島根県松江市殿町1番地")
        let doses = generated.flatMap(\.vaccinations)
        #expect(try t.upsertVaccinations(doses).inserted == doses.count)
        #expect(try t.upsertVaccinations(doses) == WriteOutcome(unchanged: doses.count))
        #expect(try t.counts() == TenantCounts(residents: 300, vaccinations: doses.count))
        let withDoses = try #require(generated.first { !$0.vaccinations.isEmpty })
        let file = try #require(try t.residentFile(number: withDoses.resident.individualNumber))
        #expect(file.vaccinations == withDoses.vaccinations.sorted { ($0.vaccinationDate, $0.doseNumber) < ($1.vaccinationDate, $1.doseNumber) })
    }

    @Test func numberOwnedByAnotherResidentIsAConflictAndNothingIsWritten() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let residents = people(matsue, count: 3).map(\.resident)
        _ = try t.upsertResidents([residents[0]])
        let thief = try Resident(addressNumber: AddressNumber("77777"), individualNumber: residents[0].individualNumber,
                                 name: "別人 花子", nameKana: "ベツジン　ハナコ", dateOfBirth: LocalDate(parsing: "1990-01-01"),
                                 sex: .female, address: "島根県松江市殿町1番地")
        do {
            _ = try t.upsertResidents([residents[1], thief])
            Issue.record("a second resident took an existing 個人番号")
        } catch {
            #expect(error.code == .conflict)
        }
        #expect(try t.counts().residents == 1)
        #expect(try t.resident(number: residents[1].individualNumber) == nil, "the batch must be all or nothing")
    }

    @Test func vaccinationForUnknownResidentIsRejected() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let person = try #require(people(matsue, count: 50).first { !$0.vaccinations.isEmpty })
        #expect(throws: NodeError.self) { try t.upsertVaccinations(person.vaccinations) }
        #expect(try t.counts().vaccinations == 0)
    }

    @Test func batchesAreBounded() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        let t = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        let one = people(matsue, count: 1)[0].resident
        do {
            _ = try t.upsertResidents(Array(repeating: one, count: TenantPartition.maxBatchRows + 1))
            Issue.record("accepted an oversized batch")
        } catch {
            #expect(error.code == .invalidArgument)
        }
    }
}

@Suite struct TenantLifecycleTests {
    @Test func dataAndCountsSurviveReopen() throws {
        let node = try TemporaryNode()
        let residents = people(matsue, count: 100).map(\.resident)
        do {
            let store = try node.open()
            _ = try store.tenant(try store.addTenant(matsue, name: "松江市").code).upsertResidents(residents)
        }
        let store = try node.open()
        #expect(store.tenants.map(\.name) == ["松江市"])
        let t = try store.tenant(matsue)
        #expect(try t.counts().residents == 100)
        #expect(try t.resident(number: residents[42].individualNumber) == residents[42])
    }

    @Test func deletingATenantShredsItsKeysAndDropsItsData() throws {
        let node = try TemporaryNode()
        let a = people(matsue, count: 50).map(\.resident)
        let b = people(izumo, count: 50).map(\.resident)
        do {
            let store = try node.open()
            _ = try store.tenant(try store.addTenant(matsue, name: "松江市").code).upsertResidents(a)
            _ = try store.tenant(try store.addTenant(izumo, name: "出雲市").code).upsertResidents(b)
            #expect(FileManager.default.fileExists(atPath: node.directory.keyringPath(for: "322016")))
            try store.deleteTenant(matsue)
            #expect(!FileManager.default.fileExists(atPath: node.directory.keyringPath(for: "322016")))
            #expect(!store.hosts(matsue))
            #expect(store.db.columnFamilyNames.allSatisfy { !$0.hasPrefix("t322016.") })
        }
        let store = try node.open()
        #expect(store.tenants.map(\.code) == [izumo])
        #expect(try store.tenant(izumo).resident(number: b[7].individualNumber) == b[7])
        // Re-adding the code starts an empty area with new keys.
        let again = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
        #expect(try again.resident(number: a[0].individualNumber) == nil)
        #expect(try again.counts() == TenantCounts())
    }

    @Test func interruptedDeletionIsCompletedOnOpen() throws {
        let node = try TemporaryNode()
        do {
            let store = try node.open()
            _ = try store.tenant(try store.addTenant(matsue, name: "松江市").code).upsertResidents(people(matsue, count: 5).map(\.resident))
        }
        // A deletion that erased the keyring and then lost power.
        try SecureFile.erase(atPath: node.directory.keyringPath(for: "322016"))
        let store = try node.open()
        #expect(store.tenants.isEmpty)
        #expect(store.db.columnFamilyNames.allSatisfy { !$0.hasPrefix("t322016.") })
    }

    @Test func addingATenantTwiceFails() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        try store.addTenant(matsue, name: "松江市")
        do {
            try store.addTenant(matsue, name: "松江市")
            Issue.record("added the same tenant twice")
        } catch {
            #expect(error.code == .tenantExists)
        }
    }
}

@Suite struct MasterKeyTests {
    @Test func keyFileReadableByOthersIsRefused() throws {
        let node = try TemporaryNode()
        chmod(node.directory.defaultMasterKeyPath, 0o644)
        do {
            _ = try node.open()
            Issue.record("opened a node whose master key file is world-readable")
        } catch {
            #expect(error.code == .keys)
            #expect(error.description.contains("chmod 600"))
        }
        chmod(node.directory.defaultMasterKeyPath, 0o600)
        _ = try node.open()
    }

    @Test func anotherMasterKeyIsNamedAsSuch() throws {
        let node = try TemporaryNode()
        let other = String(repeating: "ab", count: 32)
        do {
            _ = try node.open(NodeStoreOptions(masterKey: .hex(other)))
            Issue.record("opened with the wrong master key")
        } catch {
            #expect(error.code == .keys)
            #expect(error.message.contains("fingerprint"))
        }
    }

    @Test func initTwiceFails() throws {
        let node = try TemporaryNode()
        #expect(throws: NodeError.self) { try NodeStore.initialize(at: node.directory, logger: node.logger) }
    }

    @Test func openingAnEmptyDirectoryExplainsWhatToDo() throws {
        do {
            _ = try NodeStore.open(NodeDirectory("/nonexistent/renkei"), logger: .init(label: "t"))
            Issue.record("opened nothing")
        } catch {
            #expect(error.code == .notInitialized)
            #expect(error.message.contains("renkei init"))
        }
    }
}
