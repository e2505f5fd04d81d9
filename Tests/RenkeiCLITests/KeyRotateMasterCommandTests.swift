import Foundation
import Logging
import Testing
import RenkeiTenantStore

/// `renkei key rotate-master` through the real executable: killed with
/// SIGKILL at each step and run again, the node's records, operation logs
/// and operator accounts must all come through.
@Suite(.serialized) struct KeyRotateMasterCommandTests {
    @Test func killedAtEachStepThenFinished() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        func renkei(_ args: String..., environment: [String: String] = [:]) throws -> Renkei.Result {
            try Renkei.run(args, environment: environment)
        }
        func ok(_ result: Renkei.Result, _ what: String) {
            #expect(result.exitCode == 0, "\(what): \(result.stderr)")
        }
        ok(try renkei("init", "--data", node), "init")
        let codes = ["322016", "322032"]
        for (index, code) in codes.enumerated() {
            ok(try renkei("tenant", "add", "--data", node, "--code", code, "--name", index == 0 ? "松江市" : "出雲市"), "tenant add")
            let gen = d.path + "/gen-\(code)"
            ok(try renkei("gen", "--code", code, "--count", "40", "--seed", "\(index + 7)", "--out", gen), "gen")
            ok(try renkei("import", "residents", "--data", node, "--code", code, gen + "/residents.csv"), "import residents")
            ok(try renkei("import", "vaccinations", "--data", node, "--code", code, gen + "/vaccinations.csv"), "import vaccinations")
        }
        let password = d.path + "/password"
        try "correct horse battery\n".write(toFile: password, atomically: true, encoding: .utf8)
        ok(try renkei("user", "add", "--data", node, "--code", "322016", "--login", "tanaka", "--role", "clerk",
                      "--person", "Test Clerk", "--password-file", password, "--insecure-password-cost-log2", "4"), "user add")

        func exports() throws -> [String] {
            try codes.map { code in
                let out = d.path + "/export-\(code).csv"
                try? FileManager.default.removeItem(atPath: out)
                ok(try renkei("export", "vaccinations", "--data", node, "--code", code, "--out", out), "export")
                return try String(contentsOfFile: out, encoding: .utf8)
            }
        }
        let before = try exports()
        #expect(before.allSatisfy { !$0.isEmpty }, "exports were written")
        let verified = try renkei("audit", "verify", "--data", node)
        ok(verified, "audit verify")
        var entries = try Self.entryCounts(verified.stdout, codes: codes)

        var fingerprints: [String] = [try Self.fingerprint(node)]
        for point in ["1", "2.1", "2", "3"] {
            let killed = try renkei("key", "rotate-master", "--data", node, environment: ["RENKEI_TEST_KILL_AT_STEP": point])
            #expect(killed.exitCode == SIGKILL, "killed at \(point): exit \(killed.exitCode), \(killed.stderr)")
            #expect(killed.stdout.contains("old master key: \(fingerprints.last!)"))

            // Half rotated: every tool refuses, naming the way out.
            let refused = try renkei("audit", "verify", "--data", node)
            #expect(refused.exitCode != 0)
            #expect(refused.stderr.contains("a master key rotation was interrupted; run renkei key rotate-master --data"),
                    "after a kill at \(point): \(refused.stderr)")
            #expect(try renkei("tenant", "list", "--data", node).exitCode != 0)

            let finished = try renkei("key", "rotate-master", "--data", node)
            ok(finished, "rotate-master after a kill at \(point)")
            #expect(finished.stdout.contains("finishing an interrupted master key rotation"))
            #expect(finished.stdout.contains("step 4/4 done"))
            #expect(finished.stdout.contains("operation logs recorded: 2"))
            let newFingerprint = try Self.fingerprint(node)
            #expect(newFingerprint != fingerprints.last!)
            #expect(finished.stdout.contains("master key rotated: \(fingerprints.last!) -> \(newFingerprint)"))
            // Fingerprints only: no 64-hex-character key anywhere in the output.
            let key = try String(contentsOfFile: node + "/master.key", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!finished.stdout.contains(key) && !killed.stdout.contains(key))
            fingerprints.append(newFingerprint)

            let after = try renkei("audit", "verify", "--data", node)
            ok(after, "audit verify after a kill at \(point)")
            let counts = try Self.entryCounts(after.stdout, codes: codes)
            for code in codes { #expect(counts[code] == entries[code, default: 0] + 1, "one master-key-rotated entry in \(code)") }
            entries = counts
            #expect(try exports() == before)
        }
        let shown = try renkei("audit", "show", "--data", node, "--code", "322032", "--last", "1")
        ok(shown, "audit show")
        #expect(shown.stdout.contains("master-key-rotated"))

        // The account file still opens under the carried-over access key:
        // the same login is refused as existing, a new one is added.
        let again = try renkei("user", "add", "--data", node, "--code", "322016", "--login", "tanaka", "--role", "clerk",
                               "--person", "Test Clerk", "--password-file", password, "--insecure-password-cost-log2", "4")
        #expect(again.exitCode == 2, "\(again.stderr)")
        #expect(again.stderr.contains("tanaka"))
        ok(try renkei("user", "add", "--data", node, "--code", "322016", "--login", "suzuki", "--role", "auditor",
                      "--person", "Test Auditor", "--password-file", password, "--insecure-password-cost-log2", "4"), "user add after")

        // A rotation that nothing interrupts.
        let plain = try renkei("key", "rotate-master", "--data", node)
        ok(plain, "rotate-master")
        #expect(!plain.stdout.contains("finishing"))
        #expect(plain.stdout.contains("tenants re-wrapped 2/2"))
        ok(try renkei("audit", "verify", "--data", node), "audit verify")
        #expect(try exports() == before)
    }

    @Test func refusesWhileTheDatabaseIsOpen() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        #expect(try Renkei.run(["init", "--data", node]).exitCode == 0)
        #expect(try Renkei.run(["tenant", "add", "--data", node, "--code", "322016", "--name", "松江市"]).exitCode == 0)
        let key = try String(contentsOfFile: node + "/master.key", encoding: .utf8)
        // The node's process holds the database the way this one does.
        let store = try NodeStore.open(NodeDirectory(node), logger: Logger(label: "test"))
        let refused = try Renkei.run(["key", "rotate-master", "--data", node])
        #expect(refused.exitCode == 1)
        #expect(refused.stderr.contains("is locked: the node (or another renkei command) is running. Stop the node first"), "\(refused.stderr)")
        #expect(try String(contentsOfFile: node + "/master.key", encoding: .utf8) == key)
        #expect(!FileManager.default.fileExists(atPath: node + "/master.key.next"))
        #expect(!FileManager.default.fileExists(atPath: node + "/keys/master-rotation.json"))
        #expect(store.tenants.count == 1)
    }

    @Test func refusesAKeyFromTheEnvironment() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        let hex = String(repeating: "5a", count: 32)
        #expect(try Renkei.run(["init", "--data", node], environment: ["RENKEI_MASTER_KEY": hex]).exitCode == 0)
        let refused = try Renkei.run(["key", "rotate-master", "--data", node], environment: ["RENKEI_MASTER_KEY": hex])
        #expect(refused.exitCode == 64)
        #expect(refused.stderr.contains("cannot rewrite an environment variable"))
        #expect(!refused.stderr.contains(hex) && !refused.stdout.contains(hex))
    }

    @Test func helpExplains() throws {
        let group = try Renkei.run(["key", "--help"])
        #expect(group.exitCode == 0)
        #expect(group.stdout.contains("rotate-master"))
        let help = try Renkei.run(["key", "rotate-master", "--help"])
        #expect(help.exitCode == 0)
        // Wrapped to the terminal width; compare with the line breaks undone.
        let text = help.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ")
        for phrase in ["The node must be stopped", "running this command again finishes the rotation", "RENKEI_MASTER_KEY",
                       "--master-key-file", "restores use recovery kits", "never key material"] {
            #expect(text.contains(phrase), "help lacks \(phrase)")
        }
    }

    /// `node.json`'s master key fingerprint.
    static func fingerprint(_ node: String) throws -> String {
        let manifest = try JSONDecoder().decode(NodeManifest.self, from: Data(contentsOf: URL(fileURLWithPath: node + "/node.json")))
        return manifest.masterKeyFingerprint
    }

    /// "322016  intact  3 entries" lines of `audit verify` (a municipality
    /// with no log yet is not listed).
    static func entryCounts(_ output: String, codes: [String]) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for line in output.split(separator: "\n") {
            let words = line.split(separator: " ", omittingEmptySubsequences: true)
            guard words.count >= 3, codes.contains(String(words[0])), words[1] == "intact" else { continue }
            counts[String(words[0])] = Int(words[2])
        }
        #expect(!counts.isEmpty, "audit verify: \(output)")
        return counts
    }
}
