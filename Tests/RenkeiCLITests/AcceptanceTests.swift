import Foundation
import Testing
import RenkeiCSV
import RenkeiCore

/// The foundation issue's acceptance scenario, run as written against the real executable.
@Suite(.serialized) struct AcceptanceScenarioTests {
    @Test func singleNodeStory() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        func renkei(_ args: String..., stdin: String? = nil) throws -> Renkei.Result { try Renkei.run(args, stdin: stdin) }

        #expect(try renkei("init", "--data", node).exitCode == 0)
        var st = stat()
        #expect(stat(node + "/master.key", &st) == 0 && st.st_mode & 0o777 == 0o600)
        #expect(try renkei("tenant", "add", "--data", node, "--code", "322016", "--name", "松江市").exitCode == 0)
        #expect(try renkei("tenant", "add", "--data", node, "--code", "322032", "--name", "出雲市").exitCode == 0)
        let gen = try renkei("gen", "--code", "322016", "--count", "2000", "--seed", "1", "--out", d.path + "/gen")
        #expect(gen.exitCode == 0, "\(gen.stderr)")
        let imp = try renkei("import", "residents", "--data", node, "--code", "322016", d.path + "/gen/residents.csv")
        #expect(imp.exitCode == 0, "\(imp.stderr)")
        #expect(imp.stdout.contains("2000 new"))
        let vac = try renkei("import", "vaccinations", "--data", node, "--code", "322016", d.path + "/gen/vaccinations.csv")
        #expect(vac.exitCode == 0, "\(vac.stderr)")

        let reader = try CSVReader(path: d.path + "/gen/residents.csv", encoding: .utf8)
        let header = try CSVHeader(try #require(try reader.next()), required: ResidentCSVFormat.requiredColumns)
        let row = try #require(try reader.next())
        let number = try #require(header.value("個人番号", in: row))
        let name = try #require(header.value("氏名", in: row))

        let shown = try renkei("resident", "show", "--data", node, "--code", "322016", "--number", number)
        #expect(shown.exitCode == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains(name))
        #expect(shown.stdout.contains("vaccinations"))
        let fromStdin = try renkei("resident", "show", "--data", node, "--code", "322016", stdin: number + "\n")
        #expect(fromStdin.exitCode == 0)

        let elsewhere = try renkei("resident", "show", "--data", node, "--code", "322032", "--number", number)
        #expect(elsewhere.exitCode == 3)
        #expect(!elsewhere.stderr.contains(number), "a not-found message must not echo the number")
        #expect(!elsewhere.stdout.contains(name))

        let export = try renkei("export", "vaccinations", "--data", node, "--code", "322016", "--out", d.path + "/export.csv")
        #expect(export.exitCode == 0, "\(export.stderr)")
        let exported = try String(contentsOfFile: d.path + "/export.csv", encoding: .utf8)
        #expect(!exported.contains("個人番号"))
        #expect(!exported.contains(number))

        let list = try renkei("tenant", "list", "--data", node)
        #expect(list.exitCode == 0)
        #expect(list.stdout.contains("322016") && list.stdout.contains("松江市") && list.stdout.contains("2000"))
        #expect(list.stdout.contains("322032") && list.stdout.contains("出雲市"))

        // No plaintext at rest: any number, name or address of the file, anywhere in the data directory.
        var needles: [[UInt8]] = []
        let all = try CSVReader(path: d.path + "/gen/residents.csv", encoding: .utf8)
        _ = try all.next()
        while let r = try all.next(), needles.count < 600 {
            for column in ["個人番号", "氏名", "住所"] { needles.append(Array(header.value(column, in: r)!.utf8)) }
        }
        let files = FileManager.default.enumerator(atPath: node)!.compactMap { $0 as? String }
        var scanned = 0
        for file in files {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: node + "/" + file, isDirectory: &isDir), !isDir.boolValue else { continue }
            let bytes = try Data(contentsOf: URL(fileURLWithPath: node + "/" + file))
            scanned += bytes.count
            for needle in needles { #expect(bytes.range(of: Data(needle)) == nil, "plaintext in \(file)") }
        }
        #expect(scanned > 100_000, "the scan must cover the stored data")
    }

    @Test func badInputGetsClearErrorsAndChangesNothing() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        try Renkei.run(["init", "--data", node])
        try Renkei.run(["tenant", "add", "--data", node, "--code", "322016", "--name", "松江市"])
        try Renkei.run(["gen", "--code", "322016", "--count", "100", "--out", d.path + "/gen"])
        try Renkei.run(["import", "residents", "--data", node, "--code", "322016", d.path + "/gen/residents.csv"])
        let before = try Renkei.run(["tenant", "list", "--data", node]).stdout

        // The writer ends records with CRLF, which Swift treats as one Character.
        var lines = try String(contentsOfFile: d.path + "/gen/residents.csv", encoding: .utf8)
            .components(separatedBy: "\r\n").filter { !$0.isEmpty }
        var fields = lines[4].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        fields[4] = "1999-13-01"
        lines[4] = fields.joined(separator: ",")
        try (lines.joined(separator: "\r\n") + "\r\n").write(toFile: d.path + "/bad-date.csv", atomically: true, encoding: .utf8)
        let badDate = try Renkei.run(["import", "residents", "--data", node, "--code", "322016", d.path + "/bad-date.csv"])
        #expect(badDate.exitCode == 2)
        #expect(badDate.stderr.contains("line 5") && badDate.stderr.contains("生年月日"), "\(badDate.stderr)")

        let unknownTenant = try Renkei.run(["import", "residents", "--data", node, "--code", "322032", d.path + "/gen/residents.csv"])
        #expect(unknownTenant.exitCode != 0)
        #expect(unknownTenant.stderr.contains("322032"))
        let badCode = try Renkei.run(["import", "residents", "--data", node, "--code", "322017", d.path + "/gen/residents.csv"])
        #expect(badCode.exitCode == 64)
        #expect(badCode.stderr.contains("--code") && badCode.stderr.contains("check digit"), "\(badCode.stderr)")
        let badNumber = try Renkei.run(["resident", "show", "--data", node, "--code", "322016", "--number", "123456789017"])
        #expect(badNumber.exitCode != 0 && badNumber.exitCode != 3)
        #expect(badNumber.stderr.contains("check digit"))

        #expect(try Renkei.run(["tenant", "list", "--data", node]).stdout == before)
    }

    @Test func everySubcommandHasHelp() throws {
        for command in [[], ["init"], ["tenant"], ["tenant", "add"], ["tenant", "list"], ["tenant", "delete"], ["gen"],
                        ["import"], ["import", "residents"], ["import", "vaccinations"], ["resident", "show"],
                        ["export", "vaccinations"], ["bench", "store"]] {
            let r = try Renkei.run(command + ["--help"])
            #expect(r.exitCode == 0, "renkei \(command.joined(separator: " ")) --help")
            #expect(r.stdout.contains("USAGE"), "renkei \(command.joined(separator: " ")) --help")
        }
    }
}
