import Foundation
import Testing
import Logging
import RenkeiCore
import RenkeiCrypto
import RenkeiStore
import RenkeiSynth
import RenkeiVault
@testable import RenkeiRestore
@testable import RenkeiTenantStore

let matsue = try! MunicipalityCode("322016")
let izumo = try! MunicipalityCode("322032")
let cheap = RecoveryKitParameters(costLog2: 4, blockSize: 1, parallelism: 1)
let passphrase = "a long passphrase for DR staff"
let nodeName = "shimane-1"

func people(_ code: MunicipalityCode, count: Int, seed: UInt64 = 1, from start: Int = 0) -> [GeneratedPerson] {
    let generator = PopulationGenerator(spec: PopulationSpec(municipality: code, count: start + count, seed: seed))
    return (start..<(start + count)).map { generator.person(at: $0) }
}

/// A live node and a vault in one temporary directory; the test plays the
/// node's shipper (checkpoints and change records into the `VaultStore`).
final class Drill {
    let root: String
    let directory: NodeDirectory
    let logger = Logger(label: "test")
    var store: NodeStore?
    let vault: VaultStore
    private var snapshots = 0

    init(tenants: [MunicipalityCode] = [matsue]) throws {
        root = NSTemporaryDirectory() + "renkei-restore-test-\(UUID().uuidString)"
        directory = NodeDirectory(root + "/node")
        try NodeStore.initialize(at: directory, logger: logger)
        let store = try NodeStore.open(directory, logger: logger)
        for code in tenants { try store.addTenant(code, name: code == matsue ? "松江市" : "出雲市") }
        self.store = store
        vault = try VaultStore.open(root: root + "/vault")
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    var vaultRoot: String { root + "/vault" }
    func target(_ name: String = "restored") -> String { root + "/" + name }

    func write(_ code: MunicipalityCode, _ population: [GeneratedPerson]) throws {
        let partition = try store!.tenant(code)
        _ = try partition.upsertResidents(population.map(\.resident))
        _ = try partition.upsertVaccinations(population.flatMap(\.vaccinations))
    }

    func kit(_ code: MunicipalityCode) throws -> RestoreKey {
        RestoreKey(kit: try store!.exportRecoveryKit(code: code, passphrase: passphrase, parameters: cheap), passphrase: passphrase)
    }

    /// Ships a base snapshot the way the node does: a checkpoint plus the key files.
    @discardableResult
    func snapshot() throws -> SnapshotManifest {
        snapshots += 1
        let checkpoint = root + "/checkpoint-\(snapshots)"
        let covers = try store!.db.createCheckpoint(at: checkpoint) ?? 0
        defer { try? FileManager.default.removeItem(atPath: checkpoint) }
        let coversTime = covers == 0 ? 0 : try store!.db.changes(after: covers - 1, maxEntries: 1, maxBytes: 1 << 30).first?.commitTimeMs ?? 0
        let files = try SnapshotLayout.files(checkpointPath: checkpoint, keysDirectory: directory.keysDirectory)
        let id = "snap-\(snapshots)"
        let needed = try vault.beginSnapshot(node: nodeName, id: id, coversSeq: covers, coversCommitTimeMs: coversTime, files: files.map(\.spec))
        for file in files where needed.contains(file.spec.name) {
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: file.path)))
            var offset = 0
            repeat {
                let end = min(bytes.count, offset + vault.limits.maxChunkBytes)
                try vault.writeSnapshotFile(node: nodeName, id: id, name: file.spec.name, offset: UInt64(offset), bytes: Array(bytes[offset..<end]))
                offset = end
            } while offset < bytes.count
        }
        return try vault.commitSnapshot(node: nodeName, id: id)
    }

    /// Ships every change the vault lacks, `perSegment` records to a segment.
    func ship(perSegment: Int = 50) throws {
        while true {
            let after = try vault.lastSequence(node: nodeName)
            let records = try store!.db.changes(after: after, maxEntries: perSegment, maxBytes: 4 << 20)
            if records.isEmpty { return }
            try vault.append(node: nodeName, records: records.map { VaultRecord(seq: $0.seq, commitTimeMs: $0.commitTimeMs, payload: $0.payload) })
        }
    }

    var lastSeq: UInt64 { store!.db.lastChangeSequence }

    func commitTime(of seq: UInt64) throws -> UInt64 {
        try store!.db.changes(after: seq - 1, maxEntries: 1, maxBytes: 1 << 30)[0].commitTimeMs
    }

    func restore(_ request: RestoreRequest) async throws -> RestoreReport {
        try await Restorer(source: try LocalVaultSource(root: vaultRoot), logger: logger).restore(request)
    }

    func openRestored(_ name: String = "restored") throws -> NodeStore {
        try NodeStore.open(NodeDirectory(target(name)), logger: logger)
    }
}

func restoreError(_ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) async -> RestoreError? {
    do {
        try await body()
        Issue.record("expected a RestoreError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as RestoreError {
        return error
    } catch {
        Issue.record("expected a RestoreError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
