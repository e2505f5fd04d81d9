import Foundation
import Testing
import RenkeiAudit
import RenkeiCore
import RenkeiCrypto
import RenkeiStore
import RenkeiSynth
@testable import RenkeiTenantStore

/// A node with Matsue holding `count` people with their vaccinations and
/// one received file.
private func populatedNode(count: Int) throws -> (TemporaryNode, [GeneratedPerson]) {
    let node = try TemporaryNode()
    let store = try node.open()
    let partition = try store.tenant(try store.addTenant(matsue, name: "松江市").code)
    let population = people(matsue, count: count, seed: 7)
    _ = try partition.upsertResidents(population.map(\.resident))
    _ = try partition.upsertVaccinations(population.flatMap(\.vaccinations))
    // Someone not (yet) registered here: the file is stored on its own.
    #expect(try partition.storeReceivedFile(try receivedFile(outsider, from: izumo)).storage == .stored)
    return (node, population)
}

/// A person of Izumo whose file Matsue received.
private let outsider = people(izumo, count: 1, seed: 4242)[0]

/// Every sealed value's key version, read raw from RocksDB (no decryption).
private func rawVersions(_ store: NodeStore, _ code: MunicipalityCode = matsue) throws -> [UInt32: Int] {
    let partition = try store.tenant(code)
    var counts: [UInt32: Int] = [:]
    for kind in ReencryptionPlan.families {
        try store.db.scan(prefix: [], in: partition.family(kind)) { _, value in
            counts[try RecordSealer.keyVersion(of: value), default: 0] += 1
            return true
        }
    }
    return counts
}

/// The raw envelope version of one resident's record.
private func residentVersion(_ store: NodeStore, _ resident: Resident) throws -> UInt32? {
    let partition = try store.tenant(matsue)
    return try store.db.get(partition.residentKey(resident.addressNumber), in: partition.residentsCF).map(RecordSealer.keyVersion(of:))
}

/// Everything the tenant holds, decrypted, for before/after comparisons.
private struct Contents: Equatable {
    var residents: [Resident] = []
    var vaccinations: [VaccinationRecord] = []
    var received: [ReceivedFile] = []
}

private func contents(_ store: NodeStore, numbers: [IndividualNumber]) throws -> Contents {
    let partition = try store.tenant(matsue)
    var c = Contents()
    try partition.forEachResident { c.residents.append($0); return true }
    try partition.forEachVaccination { c.vaccinations.append($0); return true }
    for number in numbers + [outsider.resident.individualNumber] { c.received += try partition.receivedFiles(number: number) }
    #expect(c.received.count == 1)
    return c
}

/// Runs steps until the re-encryption finishes; returns the steps taken.
@discardableResult
private func finish(_ store: NodeStore, batch: Int, stepsMax: Int = 10_000) throws -> [ReencryptionStep] {
    var steps: [ReencryptionStep] = []
    while steps.count < stepsMax {
        let step = try store.reencryptStep(matsue, maxRecords: batch)
        steps.append(step)
        if step.finished { return steps }
    }
    Issue.record("re-encryption did not finish in \(stepsMax) steps")
    return steps
}

@Suite struct TenantKeyRotationTests {
    @Test func newWritesUseTheNewVersionAndOldRecordsStillRead() throws {
        let (node, population) = try populatedNode(count: 30)
        let newcomers = people(matsue, count: 40, seed: 99).suffix(2).map(\.resident)
        let rotation: DataKeyRotation
        do {
            let store = try node.open()
            let total = try rawVersions(store).values.reduce(0, +)
            #expect(try rawVersions(store) == [1: total])
            // A partition taken before the rotation (an import holds one for a whole file).
            let heldBefore = try store.tenant(matsue)

            rotation = try store.rotateTenantDataKey(matsue)
            #expect(rotation.previousVersion == 1 && rotation.newVersion == 2)

            _ = try store.tenant(matsue).upsertResidents([newcomers[0]])
            _ = try heldBefore.upsertResidents([newcomers[1]])
            #expect(try residentVersion(store, newcomers[0]) == 2)
            #expect(try residentVersion(store, newcomers[1]) == 2, "an older partition copy seals with the new key too")
            #expect(try residentVersion(store, population[0].resident) == 1)
            #expect(try store.tenant(matsue).resident(number: population[0].resident.individualNumber) == population[0].resident)

            let status = try store.keyStatus(matsue)
            #expect(status.currentVersion == 2)
            #expect(status.versionsHeld == [1, 2])
            #expect(status.recordsByVersion == [1: total, 2: 2])
            #expect(status.recordsRemaining == total)
            #expect(status.reencryption?.targetVersion == 2)
            #expect(status.keyringFingerprint == rotation.keyringFingerprint)
        }

        // The keyring file was written: a reopened store seals with v2 and reads v1.
        let reopened = try node.open()
        #expect(try reopened.keyStatus(matsue).currentVersion == 2)
        #expect(try reopened.keyStatus(matsue).keyringFingerprint == rotation.keyringFingerprint)
        #expect(try reopened.tenant(matsue).resident(number: newcomers[1].individualNumber) == newcomers[1])
        #expect(try reopened.tenant(matsue).resident(number: population[1].resident.individualNumber) == population[1].resident)
    }

    @Test func stepwiseReencryptionReachesZeroWithEveryValueUnchanged() throws {
        let (node, population) = try populatedNode(count: 120)
        let store = try node.open()
        let numbers = population.map(\.resident.individualNumber)
        let before = try contents(store, numbers: numbers)
        let total = try rawVersions(store).values.reduce(0, +)
        #expect(total > 120)

        _ = try store.rotateTenantDataKey(matsue)
        let steps = try finish(store, batch: 37)
        #expect(steps.allSatisfy { $0.resealed <= 37 })
        #expect(steps.map(\.resealed).reduce(0, +) == total)
        #expect(steps.count >= total / 37)

        #expect(try rawVersions(store) == [2: total])
        #expect(try contents(store, numbers: numbers) == before)
        let status = try store.keyStatus(matsue)
        #expect(status.recordsRemaining == 0 && status.reencryption == nil)
        #expect(try store.pendingReencryptions().isEmpty)
        // Old versions stay: older vault snapshots and recovery kits need them.
        #expect(status.versionsHeld == [1, 2])
        // A further step has nothing to do.
        #expect(try store.reencryptStep(matsue, maxRecords: 10) == ReencryptionStep(finished: true))

        let entries = try store.exportAudit(matsue, from: nil, to: nil).entries
        let finished = try #require(entries.last { $0.event == .reencryptionFinished })
        #expect(finished.detail == "version=2 records=\(total)")
        // The re-sealed values went through the change log (what the vault receives).
        #expect(store.db.lastChangeSequence > 0)
    }

    @Test func writesDuringReencryptionAreNotLost() async throws {
        let (node, population) = try populatedNode(count: 300)
        let store = try node.open()
        _ = try store.rotateTenantDataKey(matsue)
        let movedOn = try LocalDate(year: 2026, month: 11, day: 1)
        // One step first, so some updates land behind the cursor and some ahead of it.
        _ = try store.reencryptStep(matsue, maxRecords: 20)
        let reencrypting = Task.detached { () throws -> Int in
            var steps = 0
            while !(try store.reencryptStep(matsue, maxRecords: 7).finished) { steps += 1 }
            return steps
        }
        var marked: [IndividualNumber] = []
        for person in population.prefix(150) {
            if case .marked? = try? store.tenant(matsue).markMovedOut(number: person.resident.individualNumber, to: izumo, on: movedOn) {
                marked.append(person.resident.individualNumber)
            }
            await Task.yield()
        }
        _ = try await reencrypting.value
        try finish(store, batch: 50)
        #expect(marked.count > 100)
        let partition = try store.tenant(matsue)
        for number in marked {
            let resident = try #require(try partition.resident(number: number))
            #expect(resident.movedOut == MoveEvent(date: movedOn, otherMunicipality: izumo), "an update made during re-encryption survived")
        }
        let total = try rawVersions(store).values.reduce(0, +)
        #expect(try rawVersions(store) == [2: total])
    }

    @Test func anInterruptedReencryptionResumesFromItsCursor() throws {
        let (node, population) = try populatedNode(count: 100)
        let numbers = population.map(\.resident.individualNumber)
        let before: Contents
        let total: Int
        var resealedBefore = 0
        do {
            let store = try node.open()
            before = try contents(store, numbers: numbers)
            total = try rawVersions(store).values.reduce(0, +)
            _ = try store.rotateTenantDataKey(matsue)
            for _ in 0..<3 { resealedBefore += try store.reencryptStep(matsue, maxRecords: 25).resealed }
            #expect(resealedBefore == 75)
            // The store goes away here as a killed process would leave it:
            // the marker and the re-sealed batches are in RocksDB's WAL.
        }
        let store = try node.open()
        #expect(try store.pendingReencryptions() == [matsue])
        let marker = try #require(try store.reencryptionMarker(matsue))
        #expect(marker.resealed == 75)
        #expect(marker.family == TenantColumnFamily.residents.rawValue && marker.afterKeyHex != nil)
        #expect(try rawVersions(store) == [1: total - 75, 2: 75])

        let steps = try finish(store, batch: 25)
        #expect(steps.map(\.resealed).reduce(0, +) == total - 75, "records re-sealed before the interruption are not done twice")
        #expect(try rawVersions(store) == [2: total])
        #expect(try contents(store, numbers: numbers) == before)
    }

    @Test func aCrashBetweenMarkerAndKeyringLeavesAHarmlessMarker() throws {
        let (node, population) = try populatedNode(count: 20)
        let keyringPath = node.directory.keyringPath(for: matsue.rawValue)
        let oldKeyring = try SecureFile.readAll(atPath: keyringPath)
        do {
            let store = try node.open()
            _ = try store.rotateTenantDataKey(matsue)
        }
        // As if the process died after the marker but before the keyring file.
        try SecureFile.writeAtomically(oldKeyring, toPath: keyringPath)
        let store = try node.open()
        #expect(try store.keyStatus(matsue).currentVersion == 1)
        #expect(try store.reencryptionMarker(matsue)?.targetVersion == 2)
        let steps = try finish(store, batch: 100)
        #expect(steps.map(\.resealed).reduce(0, +) == 0)
        #expect(try store.reencryptionMarker(matsue) == nil)
        #expect(try store.tenant(matsue).resident(number: population[3].resident.individualNumber) == population[3].resident)
    }

    @Test func aSecondRotationMidwayReachesVersionThree() throws {
        let (node, population) = try populatedNode(count: 80)
        let numbers = population.map(\.resident.individualNumber)
        let before: Contents
        do {
            let store = try node.open()
            before = try contents(store, numbers: numbers)
            let total = try rawVersions(store).values.reduce(0, +)

            _ = try store.rotateTenantDataKey(matsue)
            _ = try store.reencryptStep(matsue, maxRecords: 30)
            #expect(try rawVersions(store) == [1: total - 30, 2: 30])
            let second = try store.rotateTenantDataKey(matsue)
            #expect(second.previousVersion == 2 && second.newVersion == 3)
            #expect(try store.reencryptionMarker(matsue)?.afterKeyHex == nil, "a new rotation walks from the start")

            try finish(store, batch: 64)
            #expect(try rawVersions(store) == [3: total])
            #expect(try contents(store, numbers: numbers) == before)
            let status = try store.keyStatus(matsue)
            #expect(status.versionsHeld == [1, 2, 3] && status.currentVersion == 3)
        }
        let reopened = try node.open()
        #expect(try contents(reopened, numbers: numbers) == before)
    }

    @Test func stepLimitsAreChecked() throws {
        let (node, _) = try populatedNode(count: 2)
        let store = try node.open()
        #expect(throws: NodeError.self) { try store.reencryptStep(matsue, maxRecords: 0) }
        #expect(throws: NodeError.self) { try store.reencryptStep(matsue, maxRecords: TenantPartition.maxBatchRows + 1) }
        #expect(throws: NodeError.self) { try store.rotateTenantDataKey(izumo) }
        #expect(try store.reencryptStep(matsue, maxRecords: 10).finished, "nothing pending without a rotation")
    }
}
