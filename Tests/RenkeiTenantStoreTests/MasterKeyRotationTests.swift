import Foundation
import Testing
import RenkeiAccess
import RenkeiAudit
import RenkeiCore
import RenkeiCrypto
import RenkeiStore
import RenkeiSynth
@testable import RenkeiTenantStore

/// `MasterKeyRotation` on a real node (RocksDB, key files, audit logs,
/// account file): what must read back after the key is replaced, and
/// resumption after a stop at each step.
@Suite struct MasterKeyRotationTests {
    /// What a node held before its rotation, to compare after.
    struct Before {
        let oldKeyBytes: [UInt8]
        let oldFingerprint: String
        let residents: [MunicipalityCode: Set<Resident>]
        let vaccinations: [MunicipalityCode: Set<VaccinationRecord>]
        let auditEntries: [MunicipalityCode: Int]
        let auditKeys: [MunicipalityCode: [UInt8]]
        let accessKey: [UInt8]
    }

    static let fastPolicy = AccountPolicy(passwordCostLog2: 4)
    static let codes = [matsue, izumo]

    /// Two tenants with records, an audit entry each and an operator account;
    /// the store is closed (database unlocked) when this returns.
    static func populate(_ node: TemporaryNode) throws -> Before {
        let store = try node.open()
        var residents: [MunicipalityCode: Set<Resident>] = [:]
        var vaccinations: [MunicipalityCode: Set<VaccinationRecord>] = [:]
        var entries: [MunicipalityCode: Int] = [:]
        for (index, code) in codes.enumerated() {
            try store.addTenant(code, name: index == 0 ? "松江市" : "出雲市")
            let tenant = try store.tenant(code)
            let population = people(code, count: 15, seed: UInt64(index + 3))
            _ = try tenant.upsertResidents(population.map(\.resident))
            _ = try tenant.upsertVaccinations(population.flatMap(\.vaccinations))
            residents[code] = Set(population.map(\.resident))
            vaccinations[code] = Set(population.flatMap(\.vaccinations))
            let log = try store.auditLog(code)
            _ = try log.append(AuditRecord(event: .recordsImported, outcome: .stored, detail: "rows=15"))
            entries[code] = Int(log.lastSequence)
        }
        _ = try store.openAccountBook(policy: fastPolicy).add(
            NewAccount(login: "tanaka", code: matsue.rawValue, roles: [.clerk], people: ["田中 花子"], terminals: [],
                       password: "correct horse battery"), now: Date())
        let key = try NodeStore.loadMasterKey(node.directory, source: .dataDirectory)
        var auditKeys: [MunicipalityCode: [UInt8]] = [:]
        for code in codes { auditKeys[code] = key.auditKey(for: code.rawValue).withUnsafeBytes { Array($0) } }
        return Before(
            oldKeyBytes: Array(try Data(contentsOf: URL(fileURLWithPath: node.directory.defaultMasterKeyPath))),
            oldFingerprint: key.fingerprint, residents: residents, vaccinations: vaccinations, auditEntries: entries,
            auditKeys: auditKeys, accessKey: key.accessKey().withUnsafeBytes { Array($0) })
    }

    /// Everything that must hold once a rotation has finished.
    static func expectRotated(_ node: TemporaryNode, from before: Before, rotations: Int = 1) throws {
        let fm = FileManager.default
        let directory = node.directory
        let manifest = try JSONDecoder().decode(NodeManifest.self, from: Data(contentsOf: URL(fileURLWithPath: directory.manifestPath)))
        #expect(manifest.masterKeyFingerprint != before.oldFingerprint)
        #expect(!fm.fileExists(atPath: MasterKeyRotation.nextPath(of: directory.defaultMasterKeyPath)))
        #expect(!fm.fileExists(atPath: directory.masterRotationStatePath))
        let keyBytes = Array(try Data(contentsOf: URL(fileURLWithPath: directory.defaultMasterKeyPath)))
        #expect(keyBytes != before.oldKeyBytes)
        let rootMode = try #require(try fm.attributesOfItem(atPath: directory.derivationRootPath)[.posixPermissions] as? Int)
        #expect(rootMode == 0o600)
        let keyMode = try #require(try fm.attributesOfItem(atPath: directory.defaultMasterKeyPath)[.posixPermissions] as? Int)
        #expect(keyMode == 0o600)

        // The new key: it is node.json's; derived keys are the old ones.
        let key = try NodeStore.loadMasterKey(directory, source: .dataDirectory)
        #expect(key.fingerprint == manifest.masterKeyFingerprint)
        #expect(!key.derivesFromItself)
        #expect(key.accessKey().withUnsafeBytes { Array($0) } == before.accessKey)

        // The old key is refused by fingerprint.
        let oldPath = node.root + "/old.key"
        if !fm.fileExists(atPath: oldPath) {
            #expect(fm.createFile(atPath: oldPath, contents: Data(before.oldKeyBytes), attributes: [.posixPermissions: 0o600]))
        }
        do {
            _ = try node.open(NodeStoreOptions(masterKey: .file(oldPath)))
            Issue.record("the node opened with its old master key")
        } catch {
            #expect(error.code == .keys)
            #expect(error.message.contains("is not this node's"))
        }

        let store = try node.open()
        #expect(store.masterKeyFingerprint == manifest.masterKeyFingerprint)
        for code in codes {
            let tenant = try store.tenant(code)
            var residents = Set<Resident>()
            try tenant.forEachResident { residents.insert($0); return true }
            #expect(residents == before.residents[code])
            var vaccinations = Set<VaccinationRecord>()
            try tenant.forEachVaccination { vaccinations.insert($0); return true }
            #expect(vaccinations == before.vaccinations[code])

            #expect(key.auditKey(for: code.rawValue).withUnsafeBytes { Array($0) } == before.auditKeys[code])
            let report = try AuditVerifier.verify(path: AuditLogs.logPath(directory: directory.auditDirectory, code: code), code: code,
                                                  key: key.auditKey(for: code.rawValue), keepingLast: rotations + 1)
            #expect(report.isIntact, "\(code): \(String(describing: report.problem))")
            #expect(report.verifiedEntries == before.auditEntries[code]! + rotations, "one master-key-rotated entry per rotation")
            let rotated = report.lastEntries.filter { $0.event == .masterKeyRotated }
            #expect(rotated.count == rotations)
            #expect(rotated.last?.detail?.hasSuffix("new=\(manifest.masterKeyFingerprint)") == true)
            // And the running store appends to the same chain.
            _ = try store.auditLog(code).append(AuditRecord(event: .recordsExported, outcome: .ok))
        }
        let book = try store.openAccountBook(policy: fastPolicy)
        #expect(book.account(login: "tanaka")?.code == matsue.rawValue)
    }

    @Test func rotationKeepsRecordsAuditLogsAndAccounts() throws {
        let node = try TemporaryNode()
        let before = try Self.populate(node)
        var events: [MasterKeyRotation.Event] = []
        let report = try MasterKeyRotation(directory: node.directory).run(logger: node.logger) { events.append($0) }
        #expect(report.oldFingerprint == before.oldFingerprint)
        #expect(report.keyrings == 2 && report.keyringsRewrapped == 2)
        #expect(report.auditLogsRecorded == 2)
        #expect(!report.resumed)
        #expect(events.first == .keys(old: before.oldFingerprint, new: report.newFingerprint, resumed: false))
        #expect(events.contains(.rewrapped(done: 2, total: 2)))
        #expect(events.last == .stepDone(.install))
        try Self.expectRotated(node, from: before)
    }

    @Test(arguments: [MasterKeyRotation.Step.newKey, .rewrap, .manifest])
    func interruptedAfterAStepIsRefusedThenFinished(step: MasterKeyRotation.Step) throws {
        let node = try TemporaryNode()
        let before = try Self.populate(node)
        let rotation = MasterKeyRotation(directory: node.directory)
        let partial = try rotation.run(stoppingAfter: step, logger: node.logger)
        #expect(rotation.isInterrupted)

        // Nothing opens a half-rotated node: neither the store nor the key loader of the audit tools.
        do {
            _ = try node.open()
            Issue.record("a half-rotated node opened")
        } catch {
            #expect(error.message.contains("a master key rotation was interrupted; run renkei key rotate-master --data"))
        }
        #expect(throws: NodeError.self) { _ = try NodeStore.loadMasterKey(node.directory, source: .dataDirectory) }

        let finished = try rotation.run(logger: node.logger)
        #expect(finished.resumed)
        #expect(finished.newFingerprint == partial.newFingerprint, "the resumed run must keep the key the first run made")
        #expect(finished.keyringsRewrapped == (step == .newKey ? 2 : 0))
        #expect(!rotation.isInterrupted)
        try Self.expectRotated(node, from: before)
    }

    /// A crash inside step 4 after the old key file was zeroed, before the rename.
    @Test func crashBetweenZeroingAndRenameIsFinished() throws {
        let node = try TemporaryNode()
        let before = try Self.populate(node)
        let rotation = MasterKeyRotation(directory: node.directory)
        try rotation.run(stoppingAfter: .manifest, logger: node.logger)
        let zeros = Data(repeating: 0, count: before.oldKeyBytes.count)
        try zeros.write(to: URL(fileURLWithPath: node.directory.defaultMasterKeyPath))
        try rotation.run(logger: node.logger)
        try Self.expectRotated(node, from: before)
    }

    /// A half-done re-wrap: one keyring under the new key, one under the old.
    @Test func keyringsUnderEitherKeyAreAccepted() throws {
        let node = try TemporaryNode()
        let before = try Self.populate(node)
        let rotation = MasterKeyRotation(directory: node.directory)
        try rotation.run(stoppingAfter: .newKey, logger: node.logger)
        let old = try MasterKey.load(fromPath: node.directory.defaultMasterKeyPath)
        let new = try MasterKey.load(fromPath: MasterKeyRotation.nextPath(of: node.directory.defaultMasterKeyPath))
        let path = node.directory.keyringPath(for: izumo.rawValue)
        let keyring = try TenantKeyring.load(fromPath: path, tenantCode: izumo.rawValue, master: old)
        try keyring.save(toPath: path, with: new)
        let report = try rotation.run(logger: node.logger)
        #expect(report.keyringsRewrapped == 1)
        try Self.expectRotated(node, from: before)
    }

    @Test func secondRotationKeepsTheSameRoot() throws {
        let node = try TemporaryNode()
        let before = try Self.populate(node)
        let first = try MasterKeyRotation(directory: node.directory).run(logger: node.logger)
        let second = try MasterKeyRotation(directory: node.directory).run(logger: node.logger)
        #expect(second.oldFingerprint == first.newFingerprint)
        #expect(second.newFingerprint != first.newFingerprint)
        try Self.expectRotated(node, from: before, rotations: 2)
    }

    @Test func openNodeMakesRotationFailAndChangesNothing() throws {
        let node = try TemporaryNode()
        _ = try Self.populate(node)
        let manifestBefore = try Data(contentsOf: URL(fileURLWithPath: node.directory.manifestPath))
        let store = try node.open()
        let rotation = MasterKeyRotation(directory: node.directory)
        do {
            try rotation.run(logger: node.logger)
            Issue.record("rotated the key of an open node")
        } catch {
            #expect(error.code == .conflict)
            #expect(error.message.contains("Stop the node first"))
        }
        #expect(!rotation.isInterrupted)
        #expect(try Data(contentsOf: URL(fileURLWithPath: node.directory.manifestPath)) == manifestBefore)
        #expect(store.tenants.count == 2)
    }

    @Test func nextKeyWithoutStateIsRefused() throws {
        let node = try TemporaryNode()
        _ = try Self.populate(node)
        let next = MasterKeyRotation.nextPath(of: node.directory.defaultMasterKeyPath)
        _ = try MasterKey.create(atPath: next)
        do {
            try MasterKeyRotation(directory: node.directory).run(logger: node.logger)
            Issue.record("used a .next key it did not make")
        } catch {
            #expect(error.code == .keys)
            #expect(error.message.contains("not made by renkei key rotate-master"))
        }
        // And the node refuses to open while it is there.
        #expect(throws: NodeError.self) { _ = try node.open() }
    }
}
