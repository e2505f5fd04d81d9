import Foundation
import Testing

/// `renkei tenant recovery-kit` and `renkei tenant add --recovery-kit`, run
/// as real processes (with cheap scrypt, via the hidden test option).
@Suite struct RecoveryKitCommandTests {
    let cheap = ["--insecure-scrypt-cost-log2", "10"]
    let env = ["RENKEI_KIT_PASSPHRASE": "a long passphrase for DR staff"]

    func mode(_ path: String) -> mode_t {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o777 : 0
    }

    func kitJSON(_ path: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
    }

    @Test func addWithKitThenExportAgainFromAPassphraseFile() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        #expect(try Renkei.run(["init", "--data", node]).exitCode == 0)
        let kit = d.path + "/322016.kit.json"
        let add = try Renkei.run(["tenant", "add", "--data", node, "--code", "322016", "--name", "松江市",
                                  "--recovery-kit", kit] + cheap, environment: env)
        #expect(add.exitCode == 0, "\(add.stderr)")
        #expect(add.stdout.contains("wrote the recovery kit of 322016 to \(kit)"))
        #expect(mode(kit) == 0o600)
        let json = try kitJSON(kit)
        #expect(json["tenant"] as? String == "322016" && json["type"] as? String == "renkei-recovery-kit")
        #expect((json["kdf"] as? [String: Any])?["n"] as? Int == 1024)
        let text = try String(contentsOfFile: kit, encoding: .utf8)
        #expect(!text.contains("a long passphrase"))

        // Never overwritten.
        let again = try Renkei.run(["tenant", "recovery-kit", "--data", node, "--code", "322016", "--out", kit] + cheap, environment: env)
        #expect(again.exitCode != 0)
        #expect(again.stderr.contains("already exists"))

        // The passphrase file wins over the environment; one trailing newline is not part of it.
        let passFile = d.path + "/pass"
        try Data("another long passphrase here\n".utf8).write(to: URL(fileURLWithPath: passFile))
        let second = d.path + "/second.json"
        let export = try Renkei.run(["tenant", "recovery-kit", "--data", node, "--code", "322016", "--out", second,
                                     "--passphrase-file", passFile] + cheap, environment: env)
        #expect(export.exitCode == 0, "\(export.stderr)")
        #expect(mode(second) == 0o600)
        // The same keyring, so the same fingerprint; a fresh salt.
        let secondJSON = try kitJSON(second)
        #expect(secondJSON["keyringFingerprint"] as? String == json["keyringFingerprint"] as? String)
        #expect(secondJSON["sealedKeyring"] as? String != json["sealedKeyring"] as? String)
    }

    @Test func shortPassphraseIsRefusedBeforeTheTenantIsCreated() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        #expect(try Renkei.run(["init", "--data", node]).exitCode == 0)
        let add = try Renkei.run(["tenant", "add", "--data", node, "--code", "322016", "--name", "松江市",
                                  "--recovery-kit", d.path + "/kit.json"] + cheap,
                                 environment: ["RENKEI_KIT_PASSPHRASE": "too short"])
        #expect(add.exitCode != 0)
        #expect(add.stderr.contains("at least 16 characters"), "\(add.stderr)")
        #expect(!add.stderr.contains("too short"), "the passphrase must not be echoed")
        #expect(!FileManager.default.fileExists(atPath: d.path + "/kit.json"))
        let list = try Renkei.run(["tenant", "list", "--data", node])
        #expect(!list.stdout.contains("322016"))
    }

    @Test func unknownTenantIsNotFound() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        #expect(try Renkei.run(["init", "--data", node]).exitCode == 0)
        let export = try Renkei.run(["tenant", "recovery-kit", "--data", node, "--code", "322016", "--out", d.path + "/k.json"] + cheap,
                                    environment: env)
        #expect(export.exitCode == 3, "\(export.stderr)")
        #expect(export.stderr.contains("322016"))
    }

    @Test func helpExplainsPassphraseSources() throws {
        let help = try Renkei.run(["tenant", "recovery-kit", "--help"])
        #expect(help.stdout.contains("--passphrase-file"))
        #expect(help.stdout.contains("RENKEI_KIT_PASSPHRASE"))
        #expect(help.stdout.contains("scrypt"))
        #expect(!help.stdout.contains("insecure"))
    }
}
