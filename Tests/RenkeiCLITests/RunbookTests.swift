#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Runbooks run as written, on a layout like the one they describe (a CA
/// directory, a data directory, an `/etc/renkei`-like directory with the
/// configuration, TLS files and one operator view), with real processes.
/// Only the paths differ (temporary directories) and `systemctl` is replaced
/// by starting the process directly.
@Suite(.serialized) struct RunbookTests {
    /// Ops/runbooks/01-first-installation.md, steps 0–10 and the rollback's
    /// revocation, with a vault so the first backup (step 10) is real.
    @Test func firstInstallationAsWritten() throws {
        let scratch = try Scratch()
        let root = scratch.path
        let ca = root + "/secure/renkei-ca", kits = root + "/secure/kits", issued = root + "/secure/issued"
        let data = root + "/var/lib/renkei/node", etc = root + "/etc/renkei", vaultData = root + "/var/lib/renkei/vault"
        for dir in [kits, issued, etc, root + "/var/lib/renkei"] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let ports = try ClusterCommandTests.freePorts(3)
        let (nodePort, vaultPort, metricsPort) = (ports[0], ports[1], ports[2])
        func step(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                  sourceLocation: SourceLocation = #_sourceLocation) throws -> Renkei.Result {
            let result = try Renkei.run(arguments, environment: environment)
            try #require(result.exitCode == 0, "step \(name): renkei \(arguments.joined(separator: " ")) exited \(result.exitCode)\n\(result.stdout)\(result.stderr)",
                         sourceLocation: sourceLocation)
            return result
        }

        // 0. The federation CA.
        _ = try step("0", ["ca", "init", "--dir", ca, "--name", "Renkei Federation CA", "--valid-days", "3650"])
        #expect(InquireBulkCommandTests.mode(ca + "/ca.key") == 0o600)

        // 1. Data directory and master key.
        let initialized = try step("1", ["init", "--data", data])
        #expect(initialized.stdout.contains("master key fingerprint"))
        #expect(InquireBulkCommandTests.mode(data + "/master.key") == 0o600)

        // 2. The municipality, with its recovery kit.
        try "a passphrase of the kit custodian\n".write(toFile: kits + "/322016.passphrase", atomically: true, encoding: .utf8)
        _ = try step("2", ["tenant", "add", "--data", data, "--code", "322016", "--name", "松江市",
                           "--recovery-kit", kits + "/322016.kit", "--passphrase-file", kits + "/322016.passphrase"])
        #expect(InquireBulkCommandTests.mode(kits + "/322016.kit") == 0o600)
        let listed = try step("2", ["tenant", "list", "--data", data])
        #expect(listed.stdout.contains("322016"), "\(listed.stdout)")

        // 3. The first administrator, offline.
        let password = root + "/admin.password"
        try "administrator-password-1\n".write(toFile: password, atomically: true, encoding: .utf8)
        let added = try step("3", ["user", "add", "--data", data, "--code", "322016", "--login", "admin-matsue",
                                   "--role", "administrator", "--person", "Test Administrator", "--password-file", password])
        #expect(added.stdout.contains("otpauth://totp/"))
        let secretLine = try #require(added.stdout.split(separator: "\n").first { $0.hasPrefix("one-time-code secret") })
        let secretFile = root + "/admin.secret"
        try String(secretLine.split(separator: " ").last!).write(toFile: secretFile, atomically: true, encoding: .utf8)

        // 4. The node certificate (and the vault's, for step 10).
        _ = try step("4", ["ca", "issue", "node", "--dir", ca, "--name", "matsue", "--codes", "322016",
                           "--dns", "node.matsue.example.lg.jp", "--ip", "127.0.0.1", "--out", issued + "/matsue"])
        let shown = try step("4", ["ca", "show", issued + "/matsue/matsue.pem"])
        #expect(shown.stdout.contains("322016") && shown.stdout.contains("node"), "\(shown.stdout)")
        #expect(InquireBulkCommandTests.mode(issued + "/matsue/matsue.key") == 0o600)
        _ = try step("4", ["ca", "issue", "vault", "--dir", ca, "--name", "vault", "--ip", "127.0.0.1", "--out", issued + "/vault"])

        // 5. The directory entry, signed; the revocation list.
        try """
        {"nodes": [{"name": "matsue", "endpoint": "127.0.0.1:\(nodePort)", "codes": ["322016"], "certificate": "\(issued)/matsue/matsue.pem"}]}
        """.write(toFile: root + "/directory.json", atomically: true, encoding: .utf8)
        _ = try step("5", ["directory", "sign", "--dir", ca, "--in", root + "/directory.json",
                           "--out", root + "/directory.signed.json", "--valid-hours", "24"])
        let verified = try step("5", ["directory", "verify", "--dir", ca, root + "/directory.signed.json"])
        #expect(verified.stdout.contains("322016"), "\(verified.stdout)")
        _ = try step("5", ["ca", "crl", "--dir", ca, "--out", root + "/revocations.signed.json", "--valid-days", "7"])

        // 6. Configuration, TLS files and the operator view.
        for (from, to) in [(issued + "/matsue/matsue.pem", "node.pem"), (issued + "/matsue/matsue.key", "node.key"),
                           (ca + "/ca.pem", "ca.pem"), (root + "/revocations.signed.json", "revocations.signed.json"),
                           (root + "/directory.signed.json", "directory.signed.json"),
                           (issued + "/vault/vault.pem", "vault.pem"), (issued + "/vault/vault.key", "vault.key")] {
            try FileManager.default.copyItem(atPath: from, toPath: etc + "/" + to)
            #expect(chmod(etc + "/" + to, 0o600) == 0)
        }
        try """
        {"dataDirectory": "\(data)", "listenHost": "127.0.0.1", "listenPort": \(nodePort),
         "certificatePath": "node.pem", "privateKeyPath": "node.key", "caCertificatePath": "ca.pem",
         "revocationListPath": "revocations.signed.json", "directoryPath": "directory.signed.json",
         "vault": {"host": "127.0.0.1", "port": \(vaultPort), "serverName": "vault"},
         "metrics": {"host": "127.0.0.1", "port": \(metricsPort)}}
        """.write(toFile: etc + "/node.json", atomically: true, encoding: .utf8)
        try """
        {"name": "vault", "listenHost": "127.0.0.1", "listenPort": \(vaultPort), "dataDirectory": "\(vaultData)",
         "certificatePath": "vault.pem", "privateKeyPath": "vault.key", "caCertificatePath": "ca.pem",
         "revocationListPath": "revocations.signed.json"}
        """.write(toFile: etc + "/vault.json", atomically: true, encoding: .utf8)
        let view = etc + "/views/322016"
        try FileManager.default.createDirectory(atPath: view, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try #"{"actsAs": "322016", "nodeConfigPath": "../../node.json"}"#.write(toFile: view + "/operator.json", atomically: true, encoding: .utf8)

        // The vault host (its own runbook is systemd/README.md; here it just runs).
        let vault = try Background(["vault", "--config", etc + "/vault.json"], log: root + "/vault.log")
        defer { vault.process.terminate(); _ = vault.wait() }
        try #require(Self.waitUntil { MetricsEndpointTests.accepts(port: vaultPort) },
                     "the vault did not listen:\n\(Self.tail(root + "/vault.log"))")

        // 7. Doctor before the start: nothing fails; no node on the socket.
        let before = try Renkei.run(["doctor", "--config", etc + "/node.json"])
        #expect(before.exitCode == 0, "\(before.stdout)\(before.stderr)\n\(Self.tail(root + "/vault.log"))")
        #expect(before.stdout.contains("admin-socket: no node running"), "\(before.stdout)")

        // 8. Start the node; /readyz answers 200.
        let node = try Background(["node", "--config", etc + "/node.json"], log: root + "/node.log")
        defer { node.process.terminate(); _ = node.wait() }
        try #require(Self.waitUntil { MetricsEndpointTests.accepts(port: metricsPort) },
                     "the node's metrics endpoint did not listen:\n\(Self.tail(root + "/node.log"))")
        try #require(Self.waitUntil { (try? MetricsEndpointTests.get("/readyz", port: metricsPort))?.status == 200 },
                     "the node did not become ready:\n\(Self.tail(root + "/node.log"))")

        // 9. Log in as the administrator; the accounts; doctor beside the running node.
        let session = ["RENKEI_SESSION_FILE": root + "/admin.session"]
        let code = try step("9", ["user", "totp", "--secret-file", secretFile]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        _ = try step("9", ["login", "--node", view, "--user", "admin-matsue", "--password-file", password, "--totp", code], environment: session)
        let users = try step("9", ["user", "list", "--node", view], environment: session)
        #expect(users.stdout.contains("admin-matsue") && users.stdout.contains("administrator"), "\(users.stdout)")
        let beside = try step("9", ["doctor", "--node", view])
        #expect(beside.stdout.contains("OK    admin-socket: a node is serving"), "\(beside.stdout)")

        // 10. The first backup: committed by the vault, acknowledged up to the last change.
        _ = try step("10", ["backup", "now", "--node", view], environment: session)
        var status: [String: Any] = [:]
        for _ in 0..<300 {
            let json = try step("10", ["backup", "status", "--node", view, "--json"], environment: session).stdout
            status = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
            if BackupCluster.uint(status["lastAckedSeq"]) == BackupCluster.uint(status["lastChangeSeq"]) { break }
            usleep(100_000)
        }
        #expect(BackupCluster.uint(status["lastAckedSeq"]) == BackupCluster.uint(status["lastChangeSeq"]), "\(status)")
        #expect(status["vaultReachable"] as? Bool == true, "\(status)")

        // Rollback: the certificate revoked and the new list names it.
        _ = try step("rollback", ["ca", "revoke", "--dir", ca, "--cert", issued + "/matsue/matsue.pem", "--reason", "installation abandoned"])
        _ = try step("rollback", ["ca", "crl", "--dir", ca, "--out", root + "/revocations2.signed.json", "--valid-days", "7"])
        let serial = try #require(shown.stdout.split(separator: "\n").first { $0.contains("serial") }?.split(separator: " ").last)
        let signed = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/revocations2.signed.json"))) as? [String: Any])
        let payload = try #require((signed["payload"] as? String).flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) })
        #expect(payload.lowercased().contains(String(serial).lowercased()) && payload.contains("installation abandoned"), "\(serial) not in \(payload)")
    }

    /// Polls `condition` every 100 ms for at most `seconds`.
    static func waitUntil(seconds: Double = 30, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(100_000)
        }
        return condition()
    }

    static func tail(_ path: String) -> String {
        String(((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").suffix(3000))
    }
}
