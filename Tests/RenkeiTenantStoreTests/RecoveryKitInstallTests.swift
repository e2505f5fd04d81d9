import Foundation
import Logging
import Testing
import RenkeiCore
import RenkeiCrypto
import RenkeiSynth
@testable import RenkeiTenantStore

private let cheap = RecoveryKitParameters(costLog2: 4, blockSize: 1, parallelism: 1)
private let passphrase = "a long passphrase for DR staff"

/// Node A with one tenant and some residents and vaccinations.
private func nodeWithResidents(_ code: MunicipalityCode = matsue, count: Int = 20) throws -> (TemporaryNode, [GeneratedPerson]) {
    let node = try TemporaryNode()
    let store = try node.open()
    let partition = try store.tenant(try store.addTenant(code, name: "松江市").code)
    let population = people(code, count: count)
    _ = try partition.upsertResidents(population.map(\.resident))
    _ = try partition.upsertVaccinations(population.flatMap(\.vaccinations))
    return (node, population)
}

/// What a restore builds: a new data directory with a fresh master key and
/// the source node's database and wrapped keyring files.
private func restoredCopy(of source: TemporaryNode) throws -> TemporaryNode {
    let copy = try TemporaryNode()
    let fm = FileManager.default
    try fm.removeItem(atPath: copy.directory.databasePath)
    try fm.removeItem(atPath: copy.directory.keysDirectory)
    try fm.copyItem(atPath: source.directory.databasePath, toPath: copy.directory.databasePath)
    try fm.copyItem(atPath: source.directory.keysDirectory, toPath: copy.directory.keysDirectory)
    return copy
}

private func nodeError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> NodeError? {
    do {
        try body()
        Issue.record("expected a NodeError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as NodeError {
        return error
    } catch {
        Issue.record("expected a NodeError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

@Suite struct RecoveryKitInstallTests {
    @Test func restoredTenantOpensOnlyAfterItsKitIsInstalled() throws {
        let (a, population) = try nodeWithResidents()
        let kit: RecoveryKit
        let counts: TenantCounts
        do {
            let store = try a.open()
            kit = try store.exportRecoveryKit(code: matsue, passphrase: passphrase, parameters: cheap)
            counts = try store.tenant(matsue).counts()
        }
        #expect(counts.residents == 20 && counts.vaccinations > 0)
        let b = try restoredCopy(of: a)
        let before = try SecureFile.readAll(atPath: b.directory.keyringPath(for: "322016"))

        // Without the kit: the keyring was sealed under A's master key.
        let refused = nodeError { _ = try b.open() }
        #expect(refused?.code == .keys)
        #expect(refused?.message.contains("322016") == true)
        #expect(refused?.message.contains("another master key") == true)

        let installed = try NodeStore.installRecoveryKit(kit, passphrase: passphrase, for: matsue, into: b.directory, logger: b.logger)
        let limit = NodeStore.recoveryKitCheckRecords
        #expect(installed.recordsChecked == min(limit, counts.residents) + min(limit, counts.vaccinations))
        #expect(!installed.alreadyInstalled)
        #expect(installed.keyringFingerprint == kit.keyringFingerprint)
        #expect(try SecureFile.readAll(atPath: b.directory.keyringPath(for: "322016")) != before)

        let store = try b.open()
        let partition = try store.tenant(matsue)
        #expect(try partition.counts() == counts)
        for person in population.prefix(5) {
            #expect(try partition.resident(number: person.resident.individualNumber) == person.resident)
        }
        #expect(try partition.vaccinations(of: population[0].resident.addressNumber) == population[0].vaccinations)
        // The new keyring file opens under B's master key, not A's.
        let sourceFingerprint = try a.open().masterKeyFingerprint
        #expect(store.masterKeyFingerprint != sourceFingerprint)
    }

    @Test func installingTwiceIsANoOp() throws {
        let (a, _) = try nodeWithResidents(count: 3)
        let kit = try a.open().exportRecoveryKit(code: matsue, passphrase: passphrase, parameters: cheap)
        let b = try restoredCopy(of: a)
        _ = try NodeStore.installRecoveryKit(kit, passphrase: passphrase, for: matsue, into: b.directory, logger: b.logger)
        let again = try NodeStore.installRecoveryKit(kit, passphrase: passphrase, for: matsue, into: b.directory, logger: b.logger)
        #expect(again.alreadyInstalled)
        _ = try b.open().tenant(matsue)
    }

    @Test func wrongPassphraseInstallsNothing() throws {
        let (a, _) = try nodeWithResidents(count: 3)
        let kit = try a.open().exportRecoveryKit(code: matsue, passphrase: passphrase, parameters: cheap)
        let b = try restoredCopy(of: a)
        let path = b.directory.keyringPath(for: "322016")
        let before = try SecureFile.readAll(atPath: path)
        let error = nodeError {
            _ = try NodeStore.installRecoveryKit(kit, passphrase: "another long passphrase!", for: matsue, into: b.directory, logger: b.logger)
        }
        #expect(error?.code == .keys)
        #expect(error?.message.contains("the passphrase does not open this recovery kit") == true)
        #expect(error?.message.contains("Nothing was installed") == true)
        #expect(try SecureFile.readAll(atPath: path) == before)
    }

    @Test func kitOfAnotherMunicipalityIsRefused() throws {
        let (a, _) = try nodeWithResidents(count: 3)
        let store = try a.open()
        _ = try store.addTenant(izumo, name: "出雲市")
        let izumoKit = try store.exportRecoveryKit(code: izumo, passphrase: passphrase, parameters: cheap)
        let b = try restoredCopy(of: a)
        let error = nodeError {
            _ = try NodeStore.installRecoveryKit(izumoKit, passphrase: passphrase, for: matsue, into: b.directory, logger: b.logger)
        }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("for municipality 322032, not 322016") == true)
    }

    @Test func kitOfAnEarlierKeyringWithTheSameCodeIsRefusedByTheRecords() throws {
        let (a, _) = try nodeWithResidents(count: 3)
        // Another node's tenant with the same code: same shape, other keys.
        let (other, _) = try nodeWithResidents(count: 3)
        let foreignKit = try other.open().exportRecoveryKit(code: matsue, passphrase: passphrase, parameters: cheap)
        let b = try restoredCopy(of: a)
        let path = b.directory.keyringPath(for: "322016")
        let before = try SecureFile.readAll(atPath: path)
        let error = nodeError {
            _ = try NodeStore.installRecoveryKit(foreignKit, passphrase: passphrase, for: matsue, into: b.directory, logger: b.logger)
        }
        #expect(error?.code == .keys)
        #expect(error?.message.contains("do not open the resident records of municipality 322016") == true)
        #expect(try SecureFile.readAll(atPath: path) == before)
    }

    @Test func kitOlderThanAKeyRotationIsRefused() throws {
        let (a, _) = try nodeWithResidents(count: 3)
        let oldKit = try a.open().exportRecoveryKit(code: matsue, passphrase: passphrase, parameters: cheap)
        // Rotate A's data key the way a rotation would: a new version in the keyring file.
        let master = try MasterKey.load(fromPath: a.directory.defaultMasterKeyPath)
        let path = a.directory.keyringPath(for: "322016")
        try TenantKeyring.load(fromPath: path, tenantCode: "322016", master: master)
            .addingDataKeyVersion().save(toPath: path, with: master)
        let b = try restoredCopy(of: a)
        let error = nodeError {
            _ = try NodeStore.installRecoveryKit(oldKit, passphrase: passphrase, for: matsue, into: b.directory, logger: b.logger)
        }
        #expect(error?.code == .keys)
        #expect(error?.message.contains("lacks key versions") == true)
        #expect(error?.message.contains("data: [2]") == true)
        // A kit made after the rotation installs.
        let newKit = try a.open().exportRecoveryKit(code: matsue, passphrase: passphrase, parameters: cheap)
        let done = try NodeStore.installRecoveryKit(newKit, passphrase: passphrase, for: matsue, into: b.directory, logger: b.logger)
        #expect(done.dataKeyVersions == [1, 2])
        #expect(try b.open().tenant(matsue).counts().residents == 3)
    }

    @Test func workingKeyringIsNeverReplacedByAnother() throws {
        let (a, _) = try nodeWithResidents(count: 3)
        let (other, _) = try nodeWithResidents(count: 3)
        let foreignKit = try other.open().exportRecoveryKit(code: matsue, passphrase: passphrase, parameters: cheap)
        let error = nodeError {
            _ = try NodeStore.installRecoveryKit(foreignKit, passphrase: passphrase, for: matsue, into: a.directory, logger: a.logger)
        }
        #expect(error?.code == .keys)
        #expect(error?.message.contains("already has a working keyring") == true)
        _ = try a.open().tenant(matsue)
    }

    @Test func tenantTheDataDoesNotHoldIsRefused() throws {
        let (a, _) = try nodeWithResidents(count: 3)
        let (other, _) = try nodeWithResidents(izumo, count: 3)
        let izumoKit = try other.open().exportRecoveryKit(code: izumo, passphrase: passphrase, parameters: cheap)
        let b = try restoredCopy(of: a)
        let error = nodeError {
            _ = try NodeStore.installRecoveryKit(izumoKit, passphrase: passphrase, for: izumo, into: b.directory, logger: b.logger)
        }
        #expect(error?.code == .tenantNotFound)
        #expect(!FileManager.default.fileExists(atPath: b.directory.keyringPath(for: "322032")))
    }

    @Test func emptyTenantInstallsWithNothingToCheck() throws {
        let a = try TemporaryNode()
        let kit = try {
            let store = try a.open()
            _ = try store.addTenant(matsue, name: "松江市")
            return try store.exportRecoveryKit(code: matsue, passphrase: passphrase, parameters: cheap)
        }()
        let b = try restoredCopy(of: a)
        let done = try NodeStore.installRecoveryKit(kit, passphrase: passphrase, for: matsue, into: b.directory, logger: b.logger)
        #expect(done.recordsChecked == 0)
        _ = try b.open().tenant(matsue)
    }

    @Test func exportChecksTenantAndPassphrase() throws {
        let node = try TemporaryNode()
        let store = try node.open()
        _ = try store.addTenant(matsue, name: "松江市")
        #expect(nodeError { _ = try store.exportRecoveryKit(code: izumo, passphrase: passphrase, parameters: cheap) }?.code == .tenantNotFound)
        let short = nodeError { _ = try store.exportRecoveryKit(code: matsue, passphrase: "short", parameters: cheap) }
        #expect(short?.code == .invalidArgument)
        #expect(short?.message.contains("at least 16 characters") == true)
    }
}
