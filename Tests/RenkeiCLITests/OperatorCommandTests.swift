#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Issue 6 through the real executable and a real node process: an
/// administrator (the cluster's demo account) adds a clerk; the clerk logs in
/// with password and TOTP, works through the running node, is refused what
/// the role does not allow, logs out; the review, the operation-log export,
/// a sealed media export and the assessment figures.
@Suite(.serialized) struct OperatorCommandTests {
    static func spec(port: Int) -> String {
        """
        {"seed": 7, "nodes": [
          {"name": "matsue", "port": \(port), "municipalities": [{"code": "322016", "name": "松江市", "residents": 12}]}
        ]}
        """
    }

    @Test func clerkLogsInWorksIsRefusedAndLogsOut() throws {
        let scratch = try Scratch()
        let specPath = scratch.path + "/cluster.json"
        try Self.spec(port: ClusterCommandTests.freePorts(1)[0]).write(toFile: specPath, atomically: true, encoding: .utf8)
        let dir = scratch.path + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        let up = try Renkei.run(["cluster", "up", specPath, "--dir", dir])
        try #require(up.exitCode == 0, "cluster up failed: \(up.stderr)")
        let view = dir + "/322016"
        let number = try Renkei.run(["cluster", "sample", "--dir", dir, "--code", "322016", "--count", "1"])
            .stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(number.count == 12)

        // The administrator (demo account, logged in by itself) adds a clerk bound to one terminal.
        let password = scratch.path + "/clerk.password"
        try "clerk-password-123\n".write(toFile: password, atomically: true, encoding: .utf8)
        let added = try Renkei.run(["user", "add", "--node", view, "--login", "clerk1", "--role", "clerk", "--person", "Test Clerk",
                                    "--allow-terminal", "desk-7", "--password-file", password])
        try #require(added.exitCode == 0, "user add: \(added.stderr)")
        let secretLine = try #require(added.stdout.split(separator: "\n").first { $0.hasPrefix("one-time-code secret") })
        let secretFile = scratch.path + "/clerk.secret"
        try String(secretLine.split(separator: " ").last!).write(toFile: secretFile, atomically: true, encoding: .utf8)
        #expect(added.stdout.contains("otpauth://totp/"))

        let clerk = ["RENKEI_SESSION_FILE": scratch.path + "/clerk.session", "RENKEI_TERMINAL": "desk-7"]
        func totp() throws -> String {
            try Renkei.run(["user", "totp", "--secret-file", secretFile]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        // Wrong terminal: refused with the one message for every reason.
        let elsewhere = try Renkei.run(["login", "--node", view, "--user", "clerk1", "--password-file", password, "--totp", totp()],
                                       environment: ["RENKEI_SESSION_FILE": scratch.path + "/other.session", "RENKEI_TERMINAL": "desk-9"])
        #expect(elsewhere.exitCode == 4)
        #expect(elsewhere.stderr.contains("login failed"))
        let login = try Renkei.run(["login", "--node", view, "--user", "clerk1", "--password-file", password, "--totp", totp()],
                                   environment: clerk)
        try #require(login.exitCode == 0, "login: \(login.stderr)")
        #expect(login.stdout.contains("clerk1") && login.stdout.contains("desk-7"))

        // What a clerk may do, through the running node.
        let shown = try Renkei.run(["resident", "show", "--node", view, "--number", number], environment: clerk)
        #expect(shown.exitCode == 0, "resident show: \(shown.stderr)")
        #expect(shown.stdout.contains(number))
        let population = scratch.path + "/pop"
        #expect(try Renkei.run(["gen", "population", "--code", "322016", "--count", "12", "--seed", "7", "--out", population,
                                "--progress", "none"]).exitCode == 0)
        let imported = try Renkei.run(["import", "residents", "--node", view, population + "/residents.csv"], environment: clerk)
        #expect(imported.exitCode == 0, "import: \(imported.stderr)")
        #expect(imported.stdout.contains("imported 12 resident rows into 322016 through the node"))
        let mediaPassphrase = scratch.path + "/media.passphrase"
        try "a medium passphrase of some length\n".write(toFile: mediaPassphrase, atomically: true, encoding: .utf8)
        let sealed = try Renkei.run(["export", "vaccinations", "--node", view, "--out", scratch.path + "/usb.sealed",
                                     "--media-passphrase-file", mediaPassphrase, "--insecure-scrypt-cost-log2", "8"], environment: clerk)
        #expect(sealed.exitCode == 0, "media export: \(sealed.stderr)")
        let idLine = try #require(sealed.stdout.split(separator: "\n").first { $0.contains("export id ") })
        let exportID = String(try #require(idLine.components(separatedBy: "export id ").last))
        let plain = try Renkei.run(["export", "vaccinations", "--node", view, "--out", scratch.path + "/plain.csv"], environment: clerk)
        #expect(plain.exitCode == 0, "export: \(plain.stderr)")
        let opened = try Renkei.run(["media", "open", "--in", scratch.path + "/usb.sealed", "--passphrase-file", mediaPassphrase,
                                     "--out", scratch.path + "/opened.csv"])
        #expect(opened.exitCode == 0, "media open: \(opened.stderr)")
        #expect(FileManager.default.contents(atPath: scratch.path + "/opened.csv") == FileManager.default.contents(atPath: scratch.path + "/plain.csv"))
        let rawSealed = try #require(FileManager.default.contents(atPath: scratch.path + "/usb.sealed"))
        #expect(rawSealed.range(of: Data("宛名番号".utf8)) == nil, "the sealed file holds no plaintext")
        let erased = try Renkei.run(["media", "erased", "--node", view, "--id", exportID, "--method", "overwritten"], environment: clerk)
        #expect(erased.exitCode == 0, "media erased: \(erased.stderr)")

        // What a clerk may not do: refused, exit 4.
        let backup = try Renkei.run(["backup", "status", "--node", view], environment: clerk)
        #expect(backup.exitCode == 4)
        #expect(backup.stderr.contains("needs the role"))
        let delete = try Renkei.run(["tenant", "delete", "--node", view, "--confirm", "322016"], environment: clerk)
        #expect(delete.exitCode == 4)

        // Logged out: the next command needs a new login.
        #expect(try Renkei.run(["logout", "--node", view], environment: clerk).exitCode == 0)
        let after = try Renkei.run(["resident", "show", "--node", view, "--number", number], environment: clerk)
        #expect(after.exitCode == 4)
        #expect(after.stderr.contains("renkei login"))

        // The administrator's review and the auditor's export of the operation log.
        let review = try Renkei.run(["user", "review", "--node", view])
        #expect(review.exitCode == 0, "review: \(review.stderr)")
        #expect(review.stdout.contains("clerk1") && review.stdout.contains("desk-7") && review.stdout.contains("recorded as operation-log entry"))
        let oplog = scratch.path + "/oplog.csv"
        let exported = try Renkei.run(["audit", "export", "--node", view, "--out", oplog])
        #expect(exported.exitCode == 0, "audit export: \(exported.stderr)")
        let csv = try String(contentsOfFile: oplog, encoding: .utf8)
        for event in ["account-added", "login-failed", "login", "resident-viewed", "records-imported", "media-exported",
                      "records-exported", "media-erased", "permission-denied", "logout", "accounts-reviewed"] {
            #expect(csv.contains(",\(event),"), "operation log lacks \(event)")
        }
        #expect(csv.contains("clerk1,desk-7"))
        #expect(csv.contains(exportID))
        #expect(!csv.contains(number), "no Individual Number in the operation log")
        let verify = try Renkei.run(["audit", "verify", "--node", view])
        #expect(verify.exitCode == 0 && verify.stdout.contains("intact"))

        let report = try Renkei.run(["assessment", "report", "--node", view])
        #expect(report.exitCode == 0, "assessment: \(report.stderr)")
        #expect(report.stdout.contains("12 residents"))
        #expect(report.stdout.contains("clerk 2"), "the demo account and clerk1")
        #expect(!report.stdout.contains("never (run renkei user review)"))
        // The report is logged as itself, not as another access review.
        let reviewsBefore = try String(contentsOfFile: oplog, encoding: .utf8).components(separatedBy: ",accounts-reviewed,").count
        let again = scratch.path + "/oplog2.csv"
        #expect(try Renkei.run(["audit", "export", "--node", view, "--out", again]).exitCode == 0)
        let log2 = try String(contentsOfFile: again, encoding: .utf8)
        #expect(log2.components(separatedBy: ",accounts-reviewed,").count == reviewsBefore)
        #expect(log2.contains(",assessment-reported,"))

        // Deleting one person: the administrator may, once; nothing is left the second time.
        let deleted = try Renkei.run(["resident", "delete", "--node", view, "--number", number, "--confirm"])
        #expect(deleted.exitCode == 0, "resident delete: \(deleted.stderr)")
        #expect(try Renkei.run(["resident", "delete", "--node", view, "--number", number, "--confirm"]).exitCode == 3)
        #expect(try Renkei.run(["resident", "show", "--node", view, "--number", number]).exitCode == 3)
    }
}
