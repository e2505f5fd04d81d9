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

        // 0. The federation CA.
        _ = try Self.step("0", ["ca", "init", "--dir", ca, "--name", "Renkei Federation CA", "--valid-days", "3650"])
        #expect(InquireBulkCommandTests.mode(ca + "/ca.key") == 0o600)

        // 1. Data directory and master key.
        let initialized = try Self.step("1", ["init", "--data", data])
        #expect(initialized.stdout.contains("master key fingerprint"))
        #expect(InquireBulkCommandTests.mode(data + "/master.key") == 0o600)

        // 2. The municipality, with its recovery kit.
        try "a passphrase of the kit custodian\n".write(toFile: kits + "/322016.passphrase", atomically: true, encoding: .utf8)
        _ = try Self.step("2", ["tenant", "add", "--data", data, "--code", "322016", "--name", "松江市",
                           "--recovery-kit", kits + "/322016.kit", "--passphrase-file", kits + "/322016.passphrase"])
        #expect(InquireBulkCommandTests.mode(kits + "/322016.kit") == 0o600)
        let listed = try Self.step("2", ["tenant", "list", "--data", data])
        #expect(listed.stdout.contains("322016"), "\(listed.stdout)")

        // 3. The first administrator, offline.
        let password = root + "/admin.password"
        try "administrator-password-1\n".write(toFile: password, atomically: true, encoding: .utf8)
        let added = try Self.step("3", ["user", "add", "--data", data, "--code", "322016", "--login", "admin-matsue",
                                   "--role", "administrator", "--person", "Test Administrator", "--password-file", password])
        #expect(added.stdout.contains("otpauth://totp/"))
        let secretFile = root + "/admin.secret"
        try Self.keepSecret(of: added, in: secretFile)

        // 4. The node certificate (and the vault's, for step 10).
        _ = try Self.step("4", ["ca", "issue", "node", "--dir", ca, "--name", "matsue", "--codes", "322016",
                           "--dns", "node.matsue.example.lg.jp", "--ip", "127.0.0.1", "--out", issued + "/matsue"])
        let shown = try Self.step("4", ["ca", "show", issued + "/matsue/matsue.pem"])
        #expect(shown.stdout.contains("322016") && shown.stdout.contains("node"), "\(shown.stdout)")
        #expect(InquireBulkCommandTests.mode(issued + "/matsue/matsue.key") == 0o600)
        _ = try Self.step("4", ["ca", "issue", "vault", "--dir", ca, "--name", "vault", "--ip", "127.0.0.1", "--out", issued + "/vault"])

        // 5. The directory entry, signed; the revocation list.
        try """
        {"nodes": [{"name": "matsue", "endpoint": "127.0.0.1:\(nodePort)", "codes": ["322016"], "certificate": "\(issued)/matsue/matsue.pem"}]}
        """.write(toFile: root + "/directory.json", atomically: true, encoding: .utf8)
        _ = try Self.step("5", ["directory", "sign", "--dir", ca, "--in", root + "/directory.json",
                           "--out", root + "/directory.signed.json", "--valid-hours", "24"])
        let verified = try Self.step("5", ["directory", "verify", "--dir", ca, root + "/directory.signed.json"])
        #expect(verified.stdout.contains("322016"), "\(verified.stdout)")
        _ = try Self.step("5", ["ca", "crl", "--dir", ca, "--out", root + "/revocations.signed.json", "--valid-days", "7"])

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
        let node = try Self.startNode(config: etc + "/node.json", metricsPort: metricsPort, log: root + "/node.log")
        defer { node.process.terminate(); _ = node.wait() }

        // 9. Log in as the administrator; the accounts; doctor beside the running node.
        let session = ["RENKEI_SESSION_FILE": root + "/admin.session"]
        try Self.logIn("9", view: view, user: "admin-matsue", passwordFile: password, secretFile: secretFile, environment: session)
        let users = try Self.step("9", ["user", "list", "--node", view], environment: session)
        #expect(users.stdout.contains("admin-matsue") && users.stdout.contains("administrator"), "\(users.stdout)")
        let beside = try Self.step("9", ["doctor", "--node", view])
        #expect(beside.stdout.contains("OK    admin-socket: a node is serving"), "\(beside.stdout)")

        // 10. The first backup: committed by the vault, acknowledged up to the last change.
        _ = try Self.step("10", ["backup", "now", "--node", view], environment: session)
        var status: [String: Any] = [:]
        for _ in 0..<300 {
            let json = try Self.step("10", ["backup", "status", "--node", view, "--json"], environment: session).stdout
            status = (try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]) ?? [:]
            if BackupCluster.uint(status["lastAckedSeq"]) == BackupCluster.uint(status["lastChangeSeq"]) { break }
            usleep(100_000)
        }
        #expect(BackupCluster.uint(status["lastAckedSeq"]) == BackupCluster.uint(status["lastChangeSeq"]), "\(status)")
        #expect(status["vaultReachable"] as? Bool == true, "\(status)")

        // Rollback: the certificate revoked and the new list names it.
        _ = try Self.step("rollback", ["ca", "revoke", "--dir", ca, "--cert", issued + "/matsue/matsue.pem", "--reason", "installation abandoned"])
        _ = try Self.step("rollback", ["ca", "crl", "--dir", ca, "--out", root + "/revocations2.signed.json", "--valid-days", "7"])
        let serial = try #require(shown.stdout.split(separator: "\n").first { $0.contains("serial") }?.split(separator: " ").last)
        let signed = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: root + "/revocations2.signed.json"))) as? [String: Any])
        let payload = try #require((signed["payload"] as? String).flatMap { Data(base64Encoded: $0) }.map { String(decoding: $0, as: UTF8.self) })
        #expect(payload.lowercased().contains(String(serial).lowercased()) && payload.contains("installation abandoned"), "\(serial) not in \(payload)")
    }

    /// Ops/runbooks/06-suspected-leak.md steps 1–4 and 7 on a running node:
    /// disable the account involved (its session ends), end every session
    /// with a restart, keep and verify the operation log and export a period
    /// of it, revoke the node's certificate by serial (doctor then fails it),
    /// and crypto-shred the municipality as its administrator.
    @Test func suspectedLeakAsWritten() throws {
        let scratch = try Scratch()
        let ports = try ClusterCommandTests.freePorts(2)
        try """
        {"seed": 4, "nodes": [{"name": "matsue", "port": \(ports[0]), "metricsPort": \(ports[1]),
                               "municipalities": [{"code": "322016", "residents": 5}]}]}
        """.write(toFile: scratch.path + "/cluster.json", atomically: true, encoding: .utf8)
        let dir = scratch.path + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        try #require(try Renkei.run(["cluster", "up", scratch.path + "/cluster.json", "--dir", dir]).exitCode == 0)
        let view = dir + "/322016", data = dir + "/nodes/matsue/data"
        let number = try Renkei.run(["cluster", "sample", "--dir", dir, "--code", "322016", "--count", "1"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        // Before the incident: a clerk and an auditor (added by the demo administrator), both logged in.
        let password = scratch.path + "/password"
        try "an-operator-password-1\n".write(toFile: password, atomically: true, encoding: .utf8)
        var sessions: [String: [String: String]] = [:]
        for (login, role) in [("clerk1", "clerk"), ("auditor1", "auditor")] {
            let added = try Self.step("setup", ["user", "add", "--node", view, "--login", login, "--role", role, "--person", "Test \(role)",
                                           "--password-file", password])
            try Self.keepSecret(of: added, in: scratch.path + "/\(login).secret")
            sessions[login] = ["RENKEI_SESSION_FILE": scratch.path + "/\(login).session"]
        }
        // Each one-time code is accepted once, so a second login waits for the next 30-second step.
        var usedCodes: [String: String] = [:]
        func logIn(_ login: String) throws -> Renkei.Result {
            var code = ""
            for _ in 0..<70 {
                code = try Self.step("totp", ["user", "totp", "--secret-file", scratch.path + "/\(login).secret"]).stdout
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                if code != usedCodes[login] { break }
                usleep(500_000)
            }
            usedCodes[login] = code
            return try Renkei.run(["login", "--node", view, "--user", login, "--password-file", password, "--totp", code],
                                  environment: sessions[login]!)
        }
        try #require(try logIn("clerk1").exitCode == 0)
        _ = try Self.step("setup", ["resident", "show", "--node", view, "--number", number], environment: sessions["clerk1"]!)

        // 1. Review, disable the account involved, list.
        let review = try Self.step("1", ["user", "review", "--node", view])
        #expect(review.stdout.contains("clerk1") && review.stdout.contains("auditor1"), "\(review.stdout)")
        _ = try Self.step("1", ["user", "disable", "--node", view, "--login", "clerk1", "--reason", "incident 2026-11-28-01"])
        let cut = try Renkei.run(["resident", "show", "--node", view, "--number", number], environment: sessions["clerk1"]!)
        #expect(cut.exitCode == 4, "the disabled account's session ended: \(cut.stdout)\(cut.stderr)")
        #expect(try logIn("clerk1").exitCode == 4, "a disabled account cannot log in")
        let listed = try Self.step("1", ["user", "list", "--node", view])
        let clerkLine = try #require(listed.stdout.split(separator: "\n").first { $0.contains("clerk1") })
        #expect(clerkLine.contains("disabled"), "\(listed.stdout)")

        // 2. End every session: a restart; /readyz 200 again; the auditor must log in again.
        try #require(try logIn("auditor1").exitCode == 0)
        _ = try Self.step("2", ["cluster", "restart", "--dir", dir, "matsue"])
        try #require(Self.waitUntil { (try? MetricsEndpointTests.get("/readyz", port: ports[1]))?.status == 200 })
        let stale = try Renkei.run(["audit", "export", "--node", view, "--out", scratch.path + "/stale.csv"], environment: sessions["auditor1"]!)
        #expect(stale.exitCode == 4 && stale.stderr.contains("renkei login"), "\(stale.stderr)")

        // 3. Keep, hash and verify the operation log; the auditor exports the period.
        let incident = scratch.path + "/secure/incident/2026-11-28-01"
        try FileManager.default.createDirectory(atPath: incident, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for file in ["322016.log", "322016.head"] {
            try FileManager.default.copyItem(atPath: data + "/audit/" + file, toPath: incident + "/" + file)
        }
        let sums = try runTool("/usr/bin/sha256sum", [incident + "/322016.log", incident + "/322016.head"])
        #expect(sums.exitCode == 0 && sums.stdout.split(separator: "\n").count == 2)
        let verified = try Self.step("3", ["audit", "verify", "--data", data])
        #expect(verified.stdout.contains("intact"), "\(verified.stdout)")
        try #require(try logIn("auditor1").exitCode == 0)
        let day = 86_400.0
        func date(_ offset: Double) -> String { String(Date().addingTimeInterval(offset).ISO8601Format().prefix(10)) }
        _ = try Self.step("3", ["audit", "export", "--node", view, "--from", date(-day), "--to", date(day),
                                      "--out", incident + "/322016-oplog.csv"], environment: sessions["auditor1"]!)
        let csv = try String(contentsOfFile: incident + "/322016-oplog.csv", encoding: .utf8)
        for event in ["account-added", "login", "resident-viewed", "accounts-reviewed", "account-disabled", "login-failed"] {
            #expect(csv.contains(",\(event),"), "the exported period lacks \(event)")
        }
        #expect(csv.contains("incident 2026-11-28-01"), "the reason is in the log")
        #expect(!csv.contains(number), "no Individual Number in the operation log")
        _ = try Self.step("3", ["audit", "export", "--node", view, "--from", date(2 * day), "--to", date(3 * day),
                                    "--out", incident + "/empty.csv"], environment: sessions["auditor1"]!)
        let empty = try String(contentsOfFile: incident + "/empty.csv", encoding: .utf8)
        #expect(empty.split(separator: "\n").count == 1, "a period after today holds only the header: \(empty)")

        // 4. Revoke the node's certificate by serial; the node reloads the list; doctor fails the certificate.
        let certificate = dir + "/nodes/matsue/tls/matsue.pem"
        let shown = try Self.step("4", ["ca", "show", certificate])
        let serial = try #require(shown.stdout.split(separator: "\n").first { $0.contains("serial") }?.split(separator: " ").last)
        _ = try Self.step("4", ["ca", "revoke", "--dir", dir + "/pki", "--serial", String(serial), "--reason", "key compromise, incident 2026-11-28-01"])
        let list = dir + "/federation/revocations.signed.json"
        _ = try Self.step("4", ["ca", "crl", "--dir", dir + "/pki", "--out", list + ".new"])
        #expect(rename(list + ".new", list) == 0)
        let doctor = try Renkei.run(["doctor", "--node", view])
        #expect(doctor.exitCode == 1 && doctor.stdout.contains("FAIL  certificate:") && doctor.stdout.lowercased().contains("revoked"),
                "\(doctor.stdout)")

        // 7. Last resort: the administrator crypto-shreds the municipality; its log survives.
        _ = try Self.step("7", ["tenant", "delete", "--node", view, "--confirm", "322016"])
        try #require(Self.waitUntil { (try? MetricsEndpointTests.get("/readyz", port: ports[1]))?.status == 503 },
                     "a node with no municipality is not ready")
        let survived = try Self.step("7", ["audit", "verify", "--data", data])
        #expect(survived.stdout.contains("intact"), "\(survived.stdout)")
        let keyrings = (try? FileManager.default.contentsOfDirectory(atPath: data + "/keys")) ?? []
        #expect(!keyrings.contains { $0.hasPrefix("322016") }, "the keyring is erased: \(keyrings)")
    }

    /// Ops/runbooks/02-add-municipality.md steps 1–9: 322067 joins the
    /// running node hamada-yasugi (stopped for the offline steps), with a new
    /// certificate carrying both codes, a re-signed directory, its first
    /// administrator, a base snapshot, a clerk's import and a peer's inquiry.
    @Test func addMunicipalityAsWritten() throws {
        let scratch = try Scratch()
        let root = scratch.path
        let ports = try ClusterCommandTests.freePorts(3)
        try """
        {"seed": 8, "nodes": [
          {"name": "matsue", "port": \(ports[0]), "municipalities": [{"code": "322016", "residents": 5}]},
          {"name": "hamada-yasugi", "port": \(ports[1]), "municipalities": [{"code": "322024", "residents": 5}]}],
         "vault": {"port": \(ports[2])}}
        """.write(toFile: root + "/cluster.json", atomically: true, encoding: .utf8)
        let dir = root + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        try #require(try Renkei.run(["cluster", "up", root + "/cluster.json", "--dir", dir]).exitCode == 0)
        let ca = dir + "/pki", federation = dir + "/federation", node = dir + "/nodes/hamada-yasugi", data = node + "/data"

        // 1. A certificate carrying both codes.
        let issued = root + "/secure/issued/hamada-yasugi-2"
        _ = try Self.step("1", ["ca", "issue", "node", "--dir", ca, "--name", "hamada-yasugi", "--codes", "322024,322067", "--ip", "127.0.0.1", "--out", issued])
        #expect(try Self.step("1", ["ca", "show", issued + "/hamada-yasugi.pem"]).stdout.contains("322067"))

        // 2. The directory with 322067 on hamada-yasugi's new key.
        var input = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: federation + "/directory.json"))) as? [String: Any])
        var entries = try #require(input["nodes"] as? [[String: Any]])
        for i in entries.indices where entries[i]["name"] as? String == "hamada-yasugi" {
            entries[i]["codes"] = ["322024", "322067"]
            entries[i]["certificate"] = issued + "/hamada-yasugi.pem"
        }
        input["nodes"] = entries
        try JSONSerialization.data(withJSONObject: input).write(to: URL(fileURLWithPath: federation + "/directory.next.json"))
        let nextDirectory = root + "/directory.next.signed.json"
        _ = try Self.step("2", ["directory", "sign", "--dir", ca, "--in", federation + "/directory.next.json", "--out", nextDirectory])
        #expect(try Self.step("2", ["directory", "verify", "--dir", ca, nextDirectory]).stdout.contains("322067"))

        // 3. The vault has everything; stop the node (SIGTERM, as systemctl stop does).
        #expect(Self.acknowledged(dir + "/322024"))
        let pid = try #require(Int32(try String(contentsOfFile: node + "/node.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, SIGTERM) == 0)
        try #require(Self.waitUntil { kill(pid, 0) != 0 }, "the node did not stop")

        // 4. The municipality, its kit and its first administrator, offline.
        let kits = root + "/secure/kits"
        try FileManager.default.createDirectory(atPath: kits, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "a passphrase of the kit custodian\n".write(toFile: kits + "/322067.passphrase", atomically: true, encoding: .utf8)
        _ = try Self.step("4", ["tenant", "add", "--data", data, "--code", "322067", "--name", "安来市",
                           "--recovery-kit", kits + "/322067.kit", "--passphrase-file", kits + "/322067.passphrase"])
        let password = root + "/admin.password"
        try "administrator-password-1\n".write(toFile: password, atomically: true, encoding: .utf8)
        let added = try Self.step("4", ["user", "add", "--data", data, "--code", "322067", "--login", "admin-yasugi",
                                   "--role", "administrator", "--person", "Test Administrator", "--password-file", password])
        try Self.keepSecret(of: added, in: root + "/admin.secret")
        let tenants = try Self.step("4", ["tenant", "list", "--data", data]).stdout
        #expect(tenants.contains("322024") && tenants.contains("322067"), "\(tenants)")

        // 5. The new certificate and key, and the operator view.
        let oldCertificate = root + "/hamada-yasugi-old.pem"
        try FileManager.default.copyItem(atPath: node + "/tls/hamada-yasugi.pem", toPath: oldCertificate)
        for suffix in ["pem", "key"] {
            let installed = node + "/tls/hamada-yasugi." + suffix
            try FileManager.default.copyItem(atPath: issued + "/hamada-yasugi." + suffix, toPath: installed + ".new")
            #expect(rename(installed + ".new", installed) == 0)
        }
        let view = dir + "/322067"
        try FileManager.default.createDirectory(atPath: view, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try #"{"actsAs": "322067", "nodeConfigPath": "../nodes/hamada-yasugi/node.json"}"#.write(toFile: view + "/operator.json", atomically: true, encoding: .utf8)

        // 6. Distribute the directory (temporary file, then rename).
        try FileManager.default.copyItem(atPath: nextDirectory, toPath: federation + "/directory.signed.json.tmp")
        #expect(rename(federation + "/directory.signed.json.tmp", federation + "/directory.signed.json") == 0)

        // 7. Check, then start.
        let doctor = try Renkei.run(["doctor", "--config", node + "/node.json"])
        #expect(doctor.exitCode == 0 && doctor.stdout.contains("admin-socket: no node running"), "\(doctor.stdout)")
        _ = try Self.step("7", ["cluster", "restart", "--dir", dir, "hamada-yasugi"])

        // 8. The new municipality's administrator: login, base snapshot; a clerk imports.
        let admin = ["RENKEI_SESSION_FILE": root + "/admin.session"]
        try Self.logIn("8", view: view, user: "admin-yasugi", passwordFile: password, secretFile: root + "/admin.secret", environment: admin)
        _ = try Self.step("8", ["backup", "now", "--node", view], environment: admin)
        #expect(Self.acknowledged(view, environment: admin))
        let clerkAdded = try Self.step("8", ["user", "add", "--node", view, "--login", "clerk-yasugi", "--role", "clerk", "--person", "Test Clerk",
                                        "--password-file", password], environment: admin)
        try Self.keepSecret(of: clerkAdded, in: root + "/clerk.secret")
        let clerk = ["RENKEI_SESSION_FILE": root + "/clerk.session"]
        try Self.logIn("8", view: view, user: "clerk-yasugi", passwordFile: password, secretFile: root + "/clerk.secret", environment: clerk)
        _ = try Self.step("8", ["gen", "population", "--code", "322067", "--count", "10", "--seed", "9", "--out", root + "/pop", "--progress", "none"])
        let imported = try Self.step("8", ["import", "residents", "--node", view, root + "/pop/residents.csv"], environment: clerk)
        #expect(imported.stdout.contains("imported 10 resident rows into 322067"), "\(imported.stdout)")
        let number = try InquireBulkCommandTests.numbers("322067", count: 1, seed: 9)[0]
        let asked = try Self.step("8", ["inquire", "transfer", "--node", dir + "/322016", "--from", "322067", "--number", number])
        #expect(asked.stdout.hasPrefix("MATCH"), "a peer reaches 322067 on hamada-yasugi: \(asked.stdout)")

        // 9. Revoke the old certificate once the node runs on the new one.
        _ = try Self.step("9", ["ca", "revoke", "--dir", ca, "--cert", oldCertificate, "--reason", "superseded"])
        _ = try Self.step("9", ["ca", "crl", "--dir", ca, "--out", federation + "/revocations.signed.json.tmp"])
        #expect(rename(federation + "/revocations.signed.json.tmp", federation + "/revocations.signed.json") == 0)
        let after = try Renkei.run(["doctor", "--node", view])
        #expect(after.exitCode == 0, "\(after.stdout)")
        let older = try Self.step("9", ["inquire", "transfer", "--node", dir + "/322016", "--from", "322024",
                                   "--number", try Renkei.run(["cluster", "sample", "--dir", dir, "--code", "322024", "--count", "1"])
                                       .stdout.trimmingCharacters(in: .whitespacesAndNewlines)])
        #expect(older.stdout.hasPrefix("MATCH"), "322024 still answers on the new certificate: \(older.stdout)")
    }

    /// Ops/runbooks/05-restore-drill.md, part 1 (drill with a real DR
    /// account and explicit kits, offline vault check, point-in-time restore,
    /// restore from the vault's disks both ways) and part 2 (the node lost:
    /// restore with the DR certificate straight from HOST:PORT, first
    /// administrator, start the restored directory on the surviving key).
    @Test func restoreDrillAsWritten() throws {
        let scratch = try Scratch()
        let root = scratch.path
        let ports = try ClusterCommandTests.freePorts(3)
        try """
        {"seed": 10, "nodes": [
          {"name": "hamada-yasugi", "port": \(ports[0]), "metricsPort": \(ports[2]),
           "municipalities": [{"code": "322024", "residents": 6}, {"code": "322067", "residents": 4}]}],
         "vault": {"port": \(ports[1])}}
        """.write(toFile: root + "/cluster.json", atomically: true, encoding: .utf8)
        let dir = root + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        try #require(try Renkei.run(["cluster", "up", root + "/cluster.json", "--dir", dir]).exitCode == 0)
        let view = dir + "/322024", node = dir + "/nodes/hamada-yasugi"
        let kits = ["322024", "322067"].flatMap { ["--recovery-kit", dir + "/\($0)/recovery-kit.json"] }
            + ["322024", "322067"].flatMap { ["--passphrase-file", dir + "/\($0)/recovery-kit.passphrase"] }
        // A real DR operator account (the demo administrator adds it).
        let password = root + "/dr.password"
        try "dr-operator-password-1\n".write(toFile: password, atomically: true, encoding: .utf8)
        let added = try Self.step("0", ["user", "add", "--node", view, "--login", "dr-hamada", "--role", "dr-operator", "--person", "Test DR Operator",
                                   "--password-file", password])
        try Self.keepSecret(of: added, in: root + "/dr.secret")
        let dr = ["RENKEI_SESSION_FILE": root + "/dr.session"]

        // Part 1, step 1: log in and run the drill with explicit vault view and kits.
        try Self.logIn("1", view: view, user: "dr-hamada", passwordFile: password, secretFile: root + "/dr.secret", environment: dr)
        let drill = try Self.step("1", ["backup", "drill", "--node", view, "--vault", dir + "/vault"] + kits, environment: dr)
        for line in ["backup drill of node hamada-yasugi: PASSED", "sentinel:  found", "RPO:", "RTO:", "restored copy removed"] {
            #expect(drill.stdout.contains(line), "missing \(line) in \(drill.stdout)")
        }
        #expect(drill.stdout.split(separator: "\n").filter { ($0.hasPrefix("322024") || $0.hasPrefix("322067")) && $0.hasSuffix("OK") }.count == 2,
                "\(drill.stdout)")

        // Step 2: the vault's files, offline.
        _ = try Self.step("2", ["backup", "verify", "--vault-data", dir + "/vault-site/data"])

        // Step 3: point in time: before a later import, the counts of then.
        #expect(Self.acknowledged(view, environment: dr))
        try FileManager.default.createDirectory(atPath: root + "/srv/drill", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        usleep(1_100_000)
        let then = Date().ISO8601Format(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
        usleep(1_100_000)
        _ = try Self.step("3", ["gen", "population", "--code", "322024", "--count", "3", "--seed", "77", "--out", root + "/pop", "--progress", "none"])
        _ = try Self.step("3", ["import", "residents", "--node", view, root + "/pop/residents.csv"])
        _ = try Self.step("3", ["backup", "now", "--node", view], environment: dr)
        #expect(Self.acknowledged(view, environment: dr))
        let pit = try Self.step("3", ["restore", "--vault", dir + "/vault", "--code", "322024", "--at", then, "--to", root + "/srv/drill/322024-pit",
                                 "--recovery-kit", dir + "/322024/recovery-kit.json", "--passphrase-file", dir + "/322024/recovery-kit.passphrase",
                                 "--progress", "lines"])
        #expect(BackupCluster.restoredCounts(pit.stdout, code: "322024")?.first == "6", "6 residents before the import: \(pit.stdout)")
        let pitList = try Self.step("3", ["tenant", "list", "--data", root + "/srv/drill/322024-pit"]).stdout
        #expect(pitList.split(separator: "\n").contains { $0.hasPrefix("322024") && $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst(2).first == "6" },
                "\(pitList)")

        // Step 4: from the vault's disks, through the view and by the data directory.
        for (name, vault) in [("full", [dir + "/vault", "--offline"]), ("full2", [dir + "/vault-site/data"])] {
            let full = try Self.step("4", ["restore", "--vault"] + vault + ["--node", "hamada-yasugi", "--to", root + "/srv/drill/" + name, "--progress", "none"] + kits)
            #expect(BackupCluster.restoredCounts(full.stdout, code: "322024")?.first == "9", "9 residents after the import: \(full.stdout)")
            #expect(BackupCluster.restoredCounts(full.stdout, code: "322067") != nil, "\(full.stdout)")
        }

        // Part 2: the node is lost; restore with the DR certificate from HOST:PORT.
        let pid = try #require(Int32(try String(contentsOfFile: node + "/node.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        #expect(kill(pid, SIGKILL) == 0)
        try #require(Self.waitUntil { kill(pid, 0) != 0 })
        let replacement = root + "/replacement/var/lib/renkei/node"
        try FileManager.default.createDirectory(atPath: replacement, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let restored = try Self.step("2", ["restore", "--vault", "127.0.0.1:\(ports[1])",
                                      "--cert", dir + "/vault/tls/dr-operator.pem", "--key", dir + "/vault/tls/dr-operator.key",
                                      "--ca", dir + "/vault/tls/ca.pem", "--crl", dir + "/federation/revocations.signed.json",
                                      "--node", "hamada-yasugi", "--to", replacement, "--progress", "none"] + kits)
        #expect(BackupCluster.restoredCounts(restored.stdout, code: "322024")?.first == "9", "\(restored.stdout)")
        // 3. The first administrator; the log starts with restore-performed.
        let admin = try Self.step("p2-3", ["user", "add", "--data", replacement, "--code", "322024", "--login", "admin-hamada",
                                      "--role", "administrator", "--person", "Test Administrator", "--password-file", password])
        try Self.keepSecret(of: admin, in: root + "/admin.secret")
        #expect(try Self.step("p2-3", ["audit", "show", "--data", replacement, "--code", "322024"]).stdout.contains("restore-performed"))
        // 4–5. The surviving key and certificate; start and check.
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: node + "/node.json"))) as? [String: Any])
        config["dataDirectory"] = replacement
        config["adminSocketPath"] = replacement + "/admin.sock"
        config["metrics"] = ["host": "127.0.0.1", "port": ports[2]]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: node + "/replacement.json"))
        let newView = root + "/replacement/etc/renkei/views/322024"
        try FileManager.default.createDirectory(atPath: newView, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try "{\"actsAs\": \"322024\", \"nodeConfigPath\": \"\(node)/replacement.json\"}".write(toFile: newView + "/operator.json", atomically: true, encoding: .utf8)
        let doctor = try Renkei.run(["doctor", "--config", node + "/replacement.json"])
        #expect(doctor.exitCode == 0, "\(doctor.stdout)")
        let started = try Self.startNode(config: node + "/replacement.json", metricsPort: ports[2], log: root + "/replacement.log")
        defer { started.process.terminate(); _ = started.wait() }
        let session = ["RENKEI_SESSION_FILE": root + "/admin.session"]
        try Self.logIn("p2-5", view: newView, user: "admin-hamada", passwordFile: password, secretFile: root + "/admin.secret", environment: session)
        _ = try Self.step("p2-5", ["backup", "now", "--node", newView], environment: session)
        #expect(Self.acknowledged(newView, environment: session), "the restored node ships to the vault again")
    }

    /// Ops/runbooks/03-move-municipality.md steps 1 and 3–11: 322067 leaves the
    /// shared node hamada-yasugi for a new node yasugi through the vault; the
    /// new node starts from the restored directory, ships its own stream, and
    /// answers a peer's inquiry; the old node keeps 322024 on a new certificate.
    @Test func moveMunicipalityAsWritten() throws {
        let scratch = try Scratch()
        let root = scratch.path
        let ports = try ClusterCommandTests.freePorts(5)
        try """
        {"seed": 6, "nodes": [
          {"name": "matsue", "port": \(ports[0]), "municipalities": [{"code": "322016", "residents": 5}]},
          {"name": "hamada-yasugi", "port": \(ports[1]), "municipalities": [{"code": "322024", "residents": 5}, {"code": "322067", "residents": 8}]}],
         "vault": {"port": \(ports[2])}}
        """.write(toFile: root + "/cluster.json", atomically: true, encoding: .utf8)
        let dir = root + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        try #require(try Renkei.run(["cluster", "up", root + "/cluster.json", "--dir", dir]).exitCode == 0)
        let oldView = dir + "/322067", ca = dir + "/pki", federation = dir + "/federation"
        let oldNode = dir + "/nodes/hamada-yasugi"
        let before = root + "/before.csv"
        _ = try Self.step("0", ["export", "vaccinations", "--node", oldView, "--out", before])
        let number = try Self.step("0", ["cluster", "sample", "--dir", dir, "--code", "322067", "--count", "1"]).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)

        // 1. Bring the vault up to date; keep the old operation log.
        _ = try Self.step("1", ["backup", "now", "--node", oldView])
        var status: [String: Any] = [:]
        #expect(Self.waitUntil(seconds: 60) {
            let json = (try? Renkei.run(["backup", "status", "--node", oldView, "--json"]))?.stdout ?? ""
            status = ((try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]) ?? [:]
            return BackupCluster.uint(status["lastAckedSeq"]) == BackupCluster.uint(status["lastChangeSeq"]) && status["lastChangeSeq"] != nil
        }, "\(status)")
        try FileManager.default.createDirectory(atPath: root + "/secure/archive", withIntermediateDirectories: true)
        _ = try Self.step("1", ["audit", "export", "--node", oldView, "--out", root + "/secure/archive/322067-oplog-before-move.csv"])

        // 3. Restore the one municipality into the new data directory.
        let newData = root + "/target/var/lib/renkei/node"
        try FileManager.default.createDirectory(atPath: root + "/target/var/lib/renkei", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        let restored = try Self.step("3", ["restore", "--vault", dir + "/vault", "--code", "322067", "--node", "hamada-yasugi", "--to", newData,
                                      "--recovery-kit", oldView + "/recovery-kit.json", "--passphrase-file", oldView + "/recovery-kit.passphrase",
                                      "--progress", "lines"])
        #expect(BackupCluster.restoredCounts(restored.stdout, code: "322067") != nil, "\(restored.stdout)")
        let tenants = try Self.step("3", ["tenant", "list", "--data", newData]).stdout
        #expect(tenants.contains("322067") && !tenants.contains("322024"), "\(tenants)")
        let oplog = try Self.step("3", ["audit", "show", "--data", newData, "--code", "322067"]).stdout
        #expect(oplog.contains("restore-performed") && oplog.contains("node=hamada-yasugi"), "\(oplog)")
        let after = root + "/after.csv"
        _ = try Self.step("3", ["export", "vaccinations", "--data", newData, "--code", "322067", "--out", after])
        #expect(FileManager.default.contents(atPath: after) == FileManager.default.contents(atPath: before),
                "the restored municipality exports exactly what the old node did")

        // 4. The first administrator of the new node, offline.
        let password = root + "/admin.password"
        try "administrator-password-1\n".write(toFile: password, atomically: true, encoding: .utf8)
        let added = try Self.step("4", ["user", "add", "--data", newData, "--code", "322067", "--login", "admin-yasugi",
                                   "--role", "administrator", "--person", "Test Administrator", "--password-file", password])
        try Self.keepSecret(of: added, in: root + "/admin.secret")

        // 5. Certificates: the new node's, and the old node's without 322067.
        let issued = root + "/secure/issued"
        _ = try Self.step("5", ["ca", "issue", "node", "--dir", ca, "--name", "yasugi", "--codes", "322067", "--ip", "127.0.0.1", "--out", issued + "/yasugi"])
        _ = try Self.step("5", ["ca", "issue", "node", "--dir", ca, "--name", "hamada-yasugi", "--codes", "322024", "--ip", "127.0.0.1",
                           "--out", issued + "/hamada-yasugi-3"])
        #expect(try Self.step("5", ["ca", "show", issued + "/hamada-yasugi-3/hamada-yasugi.pem"]).stdout.contains("322067") == false)

        // 6. The directory with the new split, signed but not yet distributed.
        var input = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: federation + "/directory.json"))) as? [String: Any])
        var entries = try #require(input["nodes"] as? [[String: Any]])
        for i in entries.indices where entries[i]["name"] as? String == "hamada-yasugi" {
            entries[i]["codes"] = ["322024"]
            entries[i]["certificate"] = issued + "/hamada-yasugi-3/hamada-yasugi.pem"
        }
        entries.append(["name": "yasugi", "endpoint": "127.0.0.1:\(ports[3])", "codes": ["322067"], "certificate": issued + "/yasugi/yasugi.pem"])
        input["nodes"] = entries
        // Next to the old input: its certificate paths are relative to it.
        try JSONSerialization.data(withJSONObject: input).write(to: URL(fileURLWithPath: federation + "/directory.next.json"))
        let nextDirectory = root + "/directory.next.signed.json"
        _ = try Self.step("6", ["directory", "sign", "--dir", ca, "--in", federation + "/directory.next.json", "--out", nextDirectory, "--valid-hours", "24"])
        #expect(try Self.step("6", ["directory", "verify", "--dir", ca, nextDirectory]).stdout.contains("yasugi"))

        // 7. Start the new node on the new directory; log in; its first backup.
        let etc = root + "/target/etc/renkei"
        try FileManager.default.createDirectory(atPath: etc + "/views/322067", withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        for (from, to) in [(issued + "/yasugi/yasugi.pem", "node.pem"), (issued + "/yasugi/yasugi.key", "node.key"), (ca + "/ca.pem", "ca.pem"),
                           (federation + "/revocations.signed.json", "revocations.signed.json"), (nextDirectory, "directory.signed.json")] {
            try FileManager.default.copyItem(atPath: from, toPath: etc + "/" + to)
        }
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: oldNode + "/node.json"))) as? [String: Any])
        config["dataDirectory"] = newData
        config["listenPort"] = ports[3]
        config["certificatePath"] = "node.pem"
        config["privateKeyPath"] = "node.key"
        config["caCertificatePath"] = "ca.pem"
        config["revocationListPath"] = "revocations.signed.json"
        config["directoryPath"] = "directory.signed.json"
        config["adminSocketPath"] = newData + "/admin.sock"
        config["metrics"] = ["host": "127.0.0.1", "port": ports[4]]
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: etc + "/node.json"))
        let newView = etc + "/views/322067"
        try #"{"actsAs": "322067", "nodeConfigPath": "../../node.json"}"#.write(toFile: newView + "/operator.json", atomically: true, encoding: .utf8)
        let doctor = try Renkei.run(["doctor", "--config", etc + "/node.json"])
        #expect(doctor.exitCode == 0, "\(doctor.stdout)")
        let node = try Self.startNode(config: etc + "/node.json", metricsPort: ports[4], log: root + "/yasugi.log")
        defer { node.process.terminate(); _ = node.wait() }
        let session = ["RENKEI_SESSION_FILE": root + "/admin.session"]
        try Self.logIn("7", view: newView, user: "admin-yasugi", passwordFile: password, secretFile: root + "/admin.secret", environment: session)
        _ = try Self.step("7", ["backup", "now", "--node", newView], environment: session)

        // 8. Delete the municipality on the old node (its administrator: the cluster's demo account).
        _ = try Self.step("8", ["tenant", "delete", "--node", oldView, "--confirm", "322067"])

        // 9. The old node on its new certificate (the old one kept for step 11).
        let oldCertificate = root + "/hamada-yasugi-old.pem"
        try FileManager.default.copyItem(atPath: oldNode + "/tls/hamada-yasugi.pem", toPath: oldCertificate)
        for suffix in ["pem", "key"] {
            let installed = oldNode + "/tls/hamada-yasugi." + suffix
            try FileManager.default.copyItem(atPath: issued + "/hamada-yasugi-3/hamada-yasugi." + suffix, toPath: installed + ".tmp")
            #expect(rename(installed + ".tmp", installed) == 0)
        }
        _ = try Self.step("9", ["cluster", "restart", "--dir", dir, "hamada-yasugi"])

        // 10. Distribute the directory (temporary file, then rename); a peer's inquiry reaches yasugi.
        try FileManager.default.copyItem(atPath: nextDirectory, toPath: federation + "/directory.signed.json.tmp")
        #expect(rename(federation + "/directory.signed.json.tmp", federation + "/directory.signed.json") == 0)
        for view in [dir + "/322024", newView] {
            let checked = try Renkei.run(["doctor", "--node", view])
            #expect(checked.exitCode == 0, "doctor \(view): \(checked.stdout)")
        }
        let asked = try Self.step("10", ["inquire", "transfer", "--node", dir + "/322016", "--from", "322067", "--number", number])
        #expect(asked.stdout.hasPrefix("MATCH"), "\(asked.stdout)")

        // 11. Revoke the old node's previous certificate; inquiries still work.
        _ = try Self.step("11", ["ca", "revoke", "--dir", ca, "--cert", oldCertificate, "--reason", "superseded"])
        _ = try Self.step("11", ["ca", "crl", "--dir", ca, "--out", federation + "/revocations.signed.json.tmp"])
        #expect(rename(federation + "/revocations.signed.json.tmp", federation + "/revocations.signed.json") == 0)
        #expect(try Self.step("11", ["inquire", "transfer", "--node", dir + "/322016", "--from", "322067", "--number", number]).stdout.hasPrefix("MATCH"))
        let hamada = try Renkei.run(["doctor", "--node", dir + "/322024"])
        #expect(hamada.exitCode == 0, "the old node's new certificate is not the revoked one: \(hamada.stdout)")
    }

    /// Runs one runbook command; it must exit 0, else the failure names the step.
    @discardableResult
    static func step(_ name: String, _ arguments: [String], environment: [String: String] = [:],
                     sourceLocation: SourceLocation = #_sourceLocation) throws -> Renkei.Result {
        let result = try Renkei.run(arguments, environment: environment)
        try #require(result.exitCode == 0, "step \(name): renkei \(arguments.joined(separator: " ")) exited \(result.exitCode)\n\(result.stdout)\(result.stderr)",
                     sourceLocation: sourceLocation)
        return result
    }

    /// Whether, within a minute, the vault acknowledges every change of the
    /// node behind `view` and is reachable (`backup status --json`).
    static func acknowledged(_ view: String, environment: [String: String] = [:]) -> Bool {
        waitUntil(seconds: 60) {
            let json = (try? Renkei.run(["backup", "status", "--node", view, "--json"], environment: environment))?.stdout ?? ""
            let status = ((try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any]) ?? [:]
            return status["lastChangeSeq"] != nil && BackupCluster.uint(status["lastAckedSeq"]) == BackupCluster.uint(status["lastChangeSeq"])
                && status["vaultReachable"] as? Bool == true
        }
    }

    /// `renkei login` through `view` with the password file and the current
    /// one-time code of the secret in `secretFile`.
    static func logIn(_ name: String, view: String, user: String, passwordFile: String, secretFile: String,
                      environment: [String: String], sourceLocation: SourceLocation = #_sourceLocation) throws {
        let code = try step(name, ["user", "totp", "--secret-file", secretFile], sourceLocation: sourceLocation)
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        try step(name, ["login", "--node", view, "--user", user, "--password-file", passwordFile, "--totp", code],
                 environment: environment, sourceLocation: sourceLocation)
    }

    /// Starts `renkei node --config` (output to `log`) and waits until its
    /// `/readyz` on `metricsPort` answers 200; the caller stops it.
    static func startNode(config: String, metricsPort: Int, log: String,
                          sourceLocation: SourceLocation = #_sourceLocation) throws -> Background {
        let node = try Background(["node", "--config", config], log: log)
        let ready = waitUntil { MetricsEndpointTests.accepts(port: metricsPort) && (try? MetricsEndpointTests.get("/readyz", port: metricsPort))?.status == 200 }
        if !ready { node.process.terminate(); _ = node.wait() }
        try #require(ready, "the node did not become ready:\n\(tail(log))", sourceLocation: sourceLocation)
        return node
    }

    /// Keeps the one-time-code secret that `user add` printed once, in `path`.
    static func keepSecret(of added: Renkei.Result, in path: String) throws {
        let line = try #require(added.stdout.split(separator: "\n").first { $0.hasPrefix("one-time-code secret") })
        try String(line.split(separator: " ").last ?? "").write(toFile: path, atomically: true, encoding: .utf8)
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
