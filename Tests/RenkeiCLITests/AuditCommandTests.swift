import Foundation
import Testing
import RenkeiCSV
import RenkeiCore

/// Moving out and the audit trail, through the real executable.
@Suite(.serialized) struct AuditCommandTests {
    @Test func markMovedOutIsAuditedAndTamperingIsFound() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        func renkei(_ args: String..., stdin: String? = nil) throws -> Renkei.Result { try Renkei.run(args, stdin: stdin) }

        #expect(try renkei("init", "--data", node).exitCode == 0)
        #expect(try renkei("tenant", "add", "--data", node, "--code", "322016", "--name", "松江市").exitCode == 0)
        #expect(try renkei("gen", "--code", "322016", "--count", "50", "--seed", "4", "--out", d.path + "/gen").exitCode == 0)
        let imp = try renkei("import", "residents", "--data", node, "--code", "322016", d.path + "/gen/residents.csv")
        #expect(imp.exitCode == 0, "\(imp.stderr)")

        // Two residents who have not moved out yet.
        let reader = try CSVReader(path: d.path + "/gen/residents.csv", encoding: .utf8)
        let header = try CSVHeader(try #require(try reader.next()), required: ResidentCSVFormat.requiredColumns)
        var numbers: [String] = []
        while let row = try reader.next(), numbers.count < 2 {
            guard ["転入日", "転出日", "死亡日"].allSatisfy({ (header.value($0, in: row) ?? "").isEmpty }) else { continue }
            numbers.append(try #require(header.value("個人番号", in: row)))
        }
        #expect(numbers.count == 2)

        let first = try renkei("resident", "mark-moved-out", "--data", node, "--code", "322016",
                               "--number", numbers[0], "--to", "322032", "--on", "2026-03-31")
        #expect(first.exitCode == 0, "\(first.stderr)")
        #expect(first.stdout.contains("marked as moved out to 322032 on 2026-03-31"))
        let again = try renkei("resident", "mark-moved-out", "--data", node, "--code", "322016",
                               "--to", "322032", "--on", "2026-03-31", stdin: numbers[0] + "\n")
        #expect(again.exitCode == 0 && again.stdout.contains("already marked"), "\(again.stderr)")
        let second = try renkei("resident", "mark-moved-out", "--data", node, "--code", "322016",
                                "--number", numbers[1], "--to", "322024", "--on", "2026-04-01")
        #expect(second.exitCode == 0, "\(second.stderr)")

        // A bad number is refused locally, naming the option, and not echoed.
        var bad = Array(numbers[0])
        bad[11] = bad[11] == "0" ? "1" : "0"
        let refused = try renkei("resident", "mark-moved-out", "--data", node, "--code", "322016",
                                 "--number", String(bad), "--to", "322032")
        #expect(refused.exitCode != 0)
        #expect(refused.stderr.contains("--number"))
        #expect(!refused.stderr.contains(String(bad)))

        let shown = try renkei("resident", "show", "--data", node, "--code", "322016", "--number", numbers[0])
        #expect(shown.exitCode == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("転出          2026-03-31 to 322032"))
        #expect(shown.stdout.contains("received files  0"))

        let verified = try renkei("audit", "verify", "--data", node)
        #expect(verified.exitCode == 0, "\(verified.stderr)")
        #expect(verified.stdout.contains("322016  intact  3 entries"))
        // The same through an operator view (--node): its node's data directory, acting as 322016.
        try FileManager.default.createDirectory(atPath: d.path + "/view", withIntermediateDirectories: true)
        try #"{"dataDirectory": "node", "certificatePath": "c.pem", "privateKeyPath": "k.pem", "caCertificatePath": "ca.pem", "directoryPath": "dir.json"}"#
            .write(toFile: d.path + "/node.json", atomically: true, encoding: .utf8)
        try #"{"actsAs": "322016", "nodeConfigPath": "../node.json"}"#
            .write(toFile: d.path + "/view/operator.json", atomically: true, encoding: .utf8)
        let viaView = try renkei("audit", "verify", "--node", d.path + "/view")
        #expect(viaView.exitCode == 0, "\(viaView.stderr)")
        #expect(viaView.stdout.contains("322016  intact  3 entries"))
        let table = try renkei("audit", "show", "--data", node, "--code", "322016", "--last", "2")
        #expect(table.exitCode == 0, "\(table.stderr)")
        #expect(table.stdout.contains("already-marked") && table.stdout.contains("moved-out-marked"))
        #expect(table.stdout.contains("chain: intact, 3 entries"))

        // The log holds blind indexes, never the numbers.
        let logPath = node + "/audit/322016.log"
        var log = try String(contentsOfFile: logPath, encoding: .utf8)
        for number in numbers { #expect(!log.contains(number)) }

        // Change one byte of the third entry: the destination it records.
        let lines = log.split(separator: "\n")
        #expect(lines.count == 3 && lines[2].contains("\"targetCode\":\"322024\""))
        log = [String(lines[0]), String(lines[1]),
               String(lines[2]).replacingOccurrences(of: "\"targetCode\":\"322024\"", with: "\"targetCode\":\"322025\"")]
            .joined(separator: "\n") + "\n"
        try log.write(toFile: logPath, atomically: false, encoding: .utf8)
        let broken = try renkei("audit", "verify", "--data", node, "--code", "322016")
        #expect(broken.exitCode == 1)
        #expect(broken.stderr.contains("entry 3 (line 3):"), "\(broken.stderr)")
        #expect(broken.stdout.contains("BROKEN"))

        // The node refuses to append to the tampered log, so nothing is changed unrecorded.
        let blocked = try renkei("resident", "mark-moved-out", "--data", node, "--code", "322016",
                                 "--number", numbers[1], "--to", "322032", "--on", "2026-04-02")
        #expect(blocked.exitCode == 1)
        #expect(blocked.stderr.contains("audit"))
    }

    @Test func verifyNeedsTheRightMasterKey() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        try Renkei.run(["init", "--data", node])
        try Renkei.run(["tenant", "add", "--data", node, "--code", "322016", "--name", "松江市"])
        try Renkei.run(["gen", "--code", "322016", "--count", "5", "--out", d.path + "/gen"])
        try Renkei.run(["import", "residents", "--data", node, "--code", "322016", d.path + "/gen/residents.csv"])
        let unknown = try Renkei.run(["resident", "mark-moved-out", "--data", node, "--code", "322016",
                                      "--number", "123456789018", "--to", "322032"])
        #expect(unknown.exitCode == 3, "\(unknown.stderr)")
        #expect(try Renkei.run(["audit", "verify", "--data", node, "--code", "322016"]).exitCode == 0)
        let wrong = try Renkei.run(["audit", "verify", "--data", node, "--code", "322016"],
                                   environment: ["RENKEI_MASTER_KEY": String(repeating: "ab", count: 32)])
        #expect(wrong.exitCode == 1)
        #expect(wrong.stderr.contains("not this node's"))
        let missing = try Renkei.run(["audit", "verify", "--data", node, "--code", "322032"])
        #expect(missing.exitCode == 1 && missing.stderr.contains("no audit log"))
    }
}
