#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Tenant data-key rotation (issue 7, item 3) on a real node process: an
/// administrator rotates Matsue's key, the node is killed with SIGKILL while
/// it re-encrypts in the background, and after a restart it finishes; the
/// export is the same as before and every record is at the new version. A
/// clerk may not rotate.
@Suite(.serialized) struct KeyRotateTenantCommandTests {
    @Test func rotationSurvivesSIGKILLMidwayAndEndsWithEveryRecordAtTheNewVersion() throws {
        try KeyCluster(residents: 3000).rotateKillRestartAndCheck()
    }

    @Test func aClerkMayNotRotate() throws {
        try KeyCluster(residents: 5).clerkIsRefused()
    }
}

/// A one-node cluster (Matsue, with a metrics port) run as real processes.
final class KeyCluster {
    let scratch: Scratch
    let dir: String
    let metricsPort: Int
    var view: String { dir + "/322016" }
    var nodeConfigPath: String { dir + "/nodes/matsue/node.json" }

    init(residents: Int) throws {
        scratch = try Scratch()
        dir = scratch.path + "/c"
        let ports = try ClusterCommandTests.freePorts(2)
        metricsPort = ports[1]
        let spec = """
        {"seed": 11, "nodes": [
          {"name": "matsue", "port": \(ports[0]), "metricsPort": \(ports[1]),
           "municipalities": [{"code": "322016", "name": "松江市", "residents": \(residents)}]}
        ]}
        """
        try spec.write(toFile: scratch.path + "/cluster.json", atomically: true, encoding: .utf8)
        let up = try Renkei.run(["cluster", "up", scratch.path + "/cluster.json", "--dir", dir])
        guard up.exitCode == 0 else {
            _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"])
            throw KeyTestFailure("cluster up failed (exit \(up.exitCode)): \(up.stderr)")
        }
    }

    // No process outlives a test, even one that failed half way.
    deinit { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }

    var nodeLog: String {
        String(((try? String(contentsOfFile: dir + "/nodes/matsue/node.log", encoding: .utf8)) ?? "").suffix(2000))
    }

    /// Sets `keys` in the node's configuration (read at the next start).
    func setKeySettings(batch: Int, pauseMilliseconds: Int) throws {
        let data = try #require(FileManager.default.contents(atPath: nodeConfigPath))
        var config = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        config["keys"] = ["reencryptBatchRecords": batch, "reencryptPauseMilliseconds": pauseMilliseconds, "reencryptProgressLogBatches": 10]
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted]).write(to: URL(fileURLWithPath: nodeConfigPath))
    }

    func restart() throws {
        let result = try Renkei.run(["cluster", "restart", "--dir", dir, "matsue", "--grace", "5"])
        try #require(result.exitCode == 0, "cluster restart: \(result.stdout)\(result.stderr)\(nodeLog)")
    }

    func kill9() throws {
        let text = try #require(FileManager.default.contents(atPath: dir + "/nodes/matsue/node.pid").map { String(decoding: $0, as: UTF8.self) })
        let pid = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, SIGKILL) == 0)
        let deadline = ContinuousClock.now + .seconds(30)
        while ClusterCommandTests.alive(pid), ContinuousClock.now < deadline { usleep(20_000) }
        #expect(!ClusterCommandTests.alive(pid), "the node survived SIGKILL")
    }

    /// `key status --node VIEW --json`, parsed.
    func status() throws -> [String: Any] {
        let result = try Renkei.run(["key", "status", "--node", view, "--json"])
        guard result.exitCode == 0 else { throw KeyTestFailure("key status: exit \(result.exitCode): \(result.stderr)") }
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
    }

    /// Polls the status (every 0.2 s, up to `seconds`) until `done` holds.
    func poll(seconds: Double, until done: ([String: Any]) -> Bool) throws -> (status: [String: Any], ok: Bool) {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var last: [String: Any] = [:]
        repeat {
            if let s = try? status() {
                last = s
                if done(s) { return (s, true) }
            }
            usleep(200_000)
        } while ContinuousClock.now < deadline
        return (last, false)
    }

    static func int(_ value: Any?) -> Int { (value as? NSNumber)?.intValue ?? -1 }

    /// The gauge's value for Matsue on the node's /metrics, or nil.
    func remainingGauge() throws -> Int? {
        let body = try MetricsEndpointTests.get("/metrics", port: metricsPort).body
        let line = body.split(separator: "\n").first { $0.hasPrefix("renkei_reencryption_records_remaining{tenant=\"322016\"}") }
        return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) }
    }

    func export(_ name: String) throws -> Data {
        let path = scratch.path + "/" + name
        let result = try Renkei.run(["export", "vaccinations", "--node", view, "--out", path])
        try #require(result.exitCode == 0, "export: \(result.stderr)")
        return try #require(FileManager.default.contents(atPath: path))
    }

    func rotateKillRestartAndCheck() throws {
        // Slow re-encryption, so the kill lands half way.
        try setKeySettings(batch: 20, pauseMilliseconds: 100)
        try restart()
        let before = try export("before.csv")
        #expect(before.count > 100_000)
        let initial = try status()
        let total = Self.int(initial["recordsTotal"])
        #expect(total > 3000, "\(initial)")
        #expect(Self.int(initial["currentVersion"]) == 1)
        #expect((initial["recordsByVersion"] as? [String: Any]).map { Self.int($0["1"]) } == total)

        let rotated = try Renkei.run(["key", "rotate-tenant", "--code", "322016", "--node", view])
        try #require(rotated.exitCode == 0, "rotate-tenant: \(rotated.stderr)")
        #expect(rotated.stdout.contains("data key version 2 is current (was 1)"))
        #expect(rotated.stdout.contains("new recovery kit"))

        let (midway, reached) = try poll(seconds: 120) { s in
            (s["reencryptionPending"] as? Bool) == true && Self.int(s["recordsResealed"]) > 0 && Self.int(s["recordsRemaining"]) > 0
        }
        try #require(reached, "no progress between 0 and \(total): \(midway)\(nodeLog)")
        let gauge = try remainingGauge()
        #expect(gauge.map { $0 > 0 && $0 <= total } == true, "renkei_reencryption_records_remaining while under way: \(String(describing: gauge))")
        try kill9()

        // Restart with a quick pace; the node resumes from its cursor.
        try setKeySettings(batch: 500, pauseMilliseconds: 0)
        try restart()
        let (done, finished) = try poll(seconds: 180) { s in
            (s["reencryptionPending"] as? Bool) == false && Self.int(s["recordsRemaining"]) == 0
        }
        try #require(finished, "re-encryption did not finish after the restart: \(done)\(nodeLog)")
        #expect(Self.int(done["currentVersion"]) == 2)
        #expect(done["versionsHeld"] as? [Int] == [1, 2])
        let byVersion = try #require(done["recordsByVersion"] as? [String: Any])
        #expect(byVersion.count == 1 && Self.int(byVersion["2"]) == total, "every record at version 2: \(byVersion)")
        #expect(try export("after.csv") == before, "the export is unchanged by the rotation")
        #expect(try remainingGauge() == 0)

        // The text report, and the operation log: rotation and the end of the
        // re-encryption, which counts each record exactly once despite the kill.
        let text = try Renkei.run(["key", "status", "--node", view])
        #expect(text.exitCode == 0 && text.stdout.contains("done: all \(total) records at version 2"), "\(text.stdout)\(text.stderr)")
        #expect(text.stdout.contains("make a new one"))
        let oplog = scratch.path + "/oplog.csv"
        let exported = try Renkei.run(["audit", "export", "--node", view, "--out", oplog])
        try #require(exported.exitCode == 0, "audit export: \(exported.stderr)")
        let csv = try String(contentsOfFile: oplog, encoding: .utf8)
        #expect(csv.contains(",data-key-rotated,"))
        #expect(csv.contains("version=2 records=\(total)"), "reencryption-finished counts every record once")
    }

    func clerkIsRefused() throws {
        let password = scratch.path + "/clerk.password"
        try "clerk-password-123\n".write(toFile: password, atomically: true, encoding: .utf8)
        let added = try Renkei.run(["user", "add", "--node", view, "--login", "clerk1", "--role", "clerk", "--person", "Test Clerk",
                                    "--password-file", password])
        try #require(added.exitCode == 0, "user add: \(added.stderr)")
        let secretLine = try #require(added.stdout.split(separator: "\n").first { $0.hasPrefix("one-time-code secret") })
        let secretFile = scratch.path + "/clerk.secret"
        try String(secretLine.split(separator: " ").last!).write(toFile: secretFile, atomically: true, encoding: .utf8)
        let clerk = ["RENKEI_SESSION_FILE": scratch.path + "/clerk.session", "RENKEI_TERMINAL": "desk-7"]
        let totp = try Renkei.run(["user", "totp", "--secret-file", secretFile]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let login = try Renkei.run(["login", "--node", view, "--user", "clerk1", "--password-file", password, "--totp", totp], environment: clerk)
        try #require(login.exitCode == 0, "login: \(login.stderr)")

        let refused = try Renkei.run(["key", "rotate-tenant", "--code", "322016", "--node", view], environment: clerk)
        #expect(refused.exitCode == 4, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("key-rotate") && refused.stderr.contains("administrator"))
        let statusRefused = try Renkei.run(["key", "status", "--node", view], environment: clerk)
        #expect(statusRefused.exitCode == 4)
        // Nothing changed.
        let s = try status()
        #expect(Self.int(s["currentVersion"]) == 1 && (s["versionsHeld"] as? [Int]) == [1])
        // A --code that is not the view's is refused before anything is sent.
        let wrong = try Renkei.run(["key", "rotate-tenant", "--code", "322032", "--node", view])
        #expect(wrong.exitCode != 0 && wrong.stderr.contains("--code"))
    }
}

struct KeyTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}
