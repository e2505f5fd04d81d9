import Crypto
import Foundation
import Testing
import RenkeiVault

/// The one snapshot layout the node side ships and the restore reads.
@Suite struct SnapshotLayoutTests {
    @Test(arguments: [
        ("db/CURRENT", SnapshotLayout.Entry.database(file: "CURRENT")),
        ("db/000012.sst", .database(file: "000012.sst")),
        ("keys/322016.keyring", .keyring(code: "322016")),
        ("node.json", .manifest),
    ])
    func namesInTheLayout(name: String, entry: SnapshotLayout.Entry) {
        #expect(SnapshotLayout.entry(of: name) == entry)
        #expect(SnapshotLayout.restoreSkips(name) == (entry == .manifest))
    }

    @Test(arguments: ["db/", "db/sub/x", "keys/.keyring", "keys/a/b.keyring", "keys/322016.key", "master.key", "audit/322016.log"])
    func namesOutsideTheLayout(name: String) {
        #expect(SnapshotLayout.entry(of: name) == nil)
    }

    @Test func keyringNamesRoundTrip() {
        #expect(SnapshotLayout.keyringFile(code: "322032") == "keys/322032.keyring")
        #expect(SnapshotLayout.keyringCode(of: SnapshotLayout.keyringFile(code: "322032")) == "322032")
        #expect(SnapshotLayout.databaseFile("CURRENT") == "db/CURRENT")
    }

    @Test func listsHashesAndSortsTheFiles() throws {
        let vault = try TemporaryVault()
        let fm = FileManager.default
        try fm.createDirectory(atPath: vault.path("checkpoint"), withIntermediateDirectories: true)
        try fm.createDirectory(atPath: vault.path("keys"), withIntermediateDirectories: true)
        try Data("current".utf8).write(to: URL(fileURLWithPath: vault.path("checkpoint/CURRENT")))
        try Data().write(to: URL(fileURLWithPath: vault.path("checkpoint/000001.log")))
        try Data("wrapped".utf8).write(to: URL(fileURLWithPath: vault.path("keys/322016.keyring")))
        // Not a keyring: left out.
        try Data("secret".utf8).write(to: URL(fileURLWithPath: vault.path("keys/master.key")))
        try Data("{}".utf8).write(to: URL(fileURLWithPath: vault.path("node.json")))
        let files = try SnapshotLayout.files(checkpointPath: vault.path("checkpoint"), keysDirectory: vault.path("keys"),
                                             manifestPath: vault.path("node.json"))
        #expect(files.map(\.spec.name) == ["db/000001.log", "db/CURRENT", "keys/322016.keyring", "node.json"])
        let current = try #require(files.first { $0.spec.name == "db/CURRENT" })
        #expect(current.spec.size == 7)
        #expect(current.spec.sha256 == SHA256.hash(data: Data("current".utf8)).map { String(format: "%02x", $0) }.joined())
        #expect(current.path == vault.path("checkpoint/CURRENT"))
        // Without a manifest path, no node.json.
        let withoutManifest = try SnapshotLayout.files(checkpointPath: vault.path("checkpoint"), keysDirectory: vault.path("keys"))
        #expect(!withoutManifest.contains { $0.spec.name == SnapshotLayout.manifestFile })
    }

    @Test func aMissingDirectoryIsAnIOError() throws {
        let vault = try TemporaryVault()
        #expect(throws: VaultError.self) {
            try SnapshotLayout.files(checkpointPath: vault.path("none"), keysDirectory: vault.path("none"))
        }
    }
}
