#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RenkeiCore
import RenkeiSynth
import Testing

/// `renkei inquire bulk` and `renkei gen movers` with the real executable,
/// for everything that does not need a provider's InquireBulk: usage errors,
/// bad input structure, bad rows (INVALID), codes the directory lacks and
/// providers that are down (UNREACHABLE), through the running node's admin
/// socket and offline, and the journal kept for a rerun.
@Suite(.serialized) struct InquireBulkCommandTests {
    static let header = "前住所地市区町村コード,個人番号,氏名カナ,生年月日\n"

    /// Numbers of residents of `code` in a cluster spec with `seed` and `count`.
    static func numbers(_ code: String, count: Int, seed: UInt64 = 5) throws -> [String] {
        let generator = PopulationGenerator(spec: PopulationSpec(municipality: try MunicipalityCode(code), count: count, seed: seed))
        return (0..<count).map { generator.person(at: $0).resident.individualNumber.digits }
    }

    static func badCheckDigit(_ digits: String) -> String {
        let last = Int(String(digits.last!))!
        return String(digits.dropLast()) + String((last + 1) % 10)
    }

    static func mode(_ path: String) -> mode_t {
        var s = stat()
        return stat(path, &s) == 0 ? s.st_mode & 0o777 : 0
    }

    @Test func usageErrorsAndBadFileStructureExit64() throws {
        let scratch = try Scratch()
        let good = scratch.path + "/in.csv"
        try (Self.header + "322032,\(try Self.numbers("322032", count: 1)[0]),,\n").write(toFile: good, atomically: true, encoding: .utf8)
        let cases: [([String], String)] = [
            (["inquire", "bulk", "--node", scratch.path, good], "--out"),
            (["inquire", "bulk", good, "--out", scratch.path + "/r.csv"], "--node"),
            (["inquire", "bulk", "--node", scratch.path, "--config", "x.json", good, "--out", scratch.path + "/r.csv"], "--node"),
            (["inquire", "bulk", "--config", "x.json", good, "--out", scratch.path + "/r.csv"], "--as"),
            (["inquire", "bulk", "--node", scratch.path, good, "--out", scratch.path + "/r.csv", "--batch-size", "1001"], "--batch-size"),
            (["inquire", "bulk", "--node", scratch.path, good, "--out", scratch.path + "/r.csv", "--streams-per-provider", "0"], "--streams-per-provider"),
            (["inquire", "bulk", "--node", scratch.path, good, "--out", scratch.path + "/r.csv", "--retries", "0"], "--retries"),
            (["inquire", "bulk", "--node", scratch.path, good, "--out", scratch.path + "/r.csv", "--progress", "loud"], "--progress"),
            (["inquire", "bulk", "--node", scratch.path, scratch.path + "/missing.csv", "--out", scratch.path + "/r.csv"], "missing.csv"),
        ]
        for (arguments, mention) in cases {
            let result = try Renkei.run(arguments)
            #expect(result.exitCode == 64, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(mention), "\(arguments): \(result.stderr)")
        }
        // Structure: a missing required column, a broken quote, an empty file.
        let number = try Self.numbers("322032", count: 1)[0]
        for (name, text, mention) in [
            ("nocol.csv", "前住所地市区町村コード,氏名カナ\n322032,ヤマダ\n", "個人番号"),
            ("quote.csv", Self.header + "322032,\"\(number),,\n", "line 2"),
            ("empty.csv", "", "empty"),
        ] {
            let path = scratch.path + "/" + name
            try text.write(toFile: path, atomically: true, encoding: .utf8)
            let result = try Renkei.run(["inquire", "bulk", "--node", scratch.path, path, "--out", scratch.path + "/r.csv"])
            #expect(result.exitCode == 64, "\(name): \(result.stderr)")
            #expect(result.stderr.contains(mention), "\(name): \(result.stderr)")
            #expect(!result.stderr.contains(number))
            #expect(!FileManager.default.fileExists(atPath: scratch.path + "/r.csv"))
        }
    }

    @Test func genMoversHelpSaysSynthetic() throws {
        let help = try Renkei.run(["gen", "movers", "--help"])
        #expect(help.exitCode == 0, "\(help.stderr)")
        #expect(help.stdout.contains("synthetic"))
        let bulkHelp = try Renkei.run(["inquire", "bulk", "--help"])
        #expect(bulkHelp.stdout.contains("items_per_second") && bulkHelp.stdout.contains("batch_latency_ms"))
    }

    /// A cluster: bad rows and unknown codes through the running node (admin
    /// socket); then, the cluster down, the same input offline: every row of
    /// a down provider UNREACHABLE after its retries, the journal kept, and a
    /// rerun settling the same way. gen movers writes a realistic input.
    @Test func badRowsAndUnreachableProvidersWithoutAProvider() throws {
        let scratch = try Scratch()
        let specPath = scratch.path + "/cluster.json"
        try ClusterCommandTests.spec(ports: ClusterCommandTests.freePorts(3)).write(toFile: specPath, atomically: true, encoding: .utf8)
        let dir = scratch.path + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        let up = try Renkei.run(["cluster", "up", specPath, "--dir", dir])
        try #require(up.exitCode == 0, "cluster up failed: \(up.stderr)")
        let matsue = "\(dir)/322016"
        let izumo = try Self.numbers("322032", count: 40)

        // Bad rows only: every one INVALID naming its column, exit 0, no journal left.
        let bad = scratch.path + "/bad.csv"
        try (Self.header
            + "322032,\(Self.badCheckDigit(izumo[0])),,\n"
            + "322033,\(izumo[1]),,\n"
            + ",\(izumo[2]),,\n"
            + "322032,\(izumo[3]),,1990-13-01\n"
            + "322032,12345,,\n").write(toFile: bad, atomically: true, encoding: .utf8)
        let badOut = scratch.path + "/bad-results.csv"
        let invalid = try Renkei.run(["inquire", "bulk", "--node", matsue, bad, "--out", badOut, "--progress", "none"])
        #expect(invalid.exitCode == 0, "\(invalid.stdout)\(invalid.stderr)")
        let badResults = try String(contentsOfFile: badOut, encoding: .utf8)
        let badLines = badResults.split(separator: "\r\n").map(String.init)
        #expect(badLines.first == "行番号,前住所地市区町村コード,結果,理由,接種記録数")
        #expect(badLines.count == 6)
        #expect(badLines[1].hasPrefix("1,322032,INVALID,個人番号: "))
        #expect(badLines[2].hasPrefix("2,,INVALID,前住所地市区町村コード: "))
        #expect(badLines[3].hasPrefix("3,,INVALID,前住所地市区町村コード: is required"))
        #expect(badLines[4].hasPrefix("4,322032,INVALID,生年月日: "))
        #expect(badLines[5].hasPrefix("5,322032,INVALID,個人番号: "))
        for n in izumo { #expect(!badResults.contains(n)) }
        #expect(Self.mode(badOut) == 0o600)
        #expect(!FileManager.default.fileExists(atPath: badOut + ".journal"))

        // A code the directory lacks: UNREACHABLE naming it, exit 1, journal kept.
        let unlisted = scratch.path + "/unlisted.csv"
        try (Self.header + "131016,\(izumo[4]),,\n" + "322032,\(Self.badCheckDigit(izumo[5])),,\n").write(toFile: unlisted, atomically: true, encoding: .utf8)
        let unlistedOut = scratch.path + "/unlisted-results.csv"
        let stats = scratch.path + "/stats.json"
        let unreachable = try Renkei.run(["inquire", "bulk", "--node", matsue, unlisted, "--out", unlistedOut, "--stats-json", stats])
        #expect(unreachable.exitCode == 1, "\(unreachable.stdout)\(unreachable.stderr)")
        let unlistedLines = try String(contentsOfFile: unlistedOut, encoding: .utf8).split(separator: "\r\n").map(String.init)
        #expect(unlistedLines[1] == "1,131016,UNREACHABLE,the federation directory lists no node for municipality 131016,")
        #expect(unlistedLines[2].hasPrefix("2,322032,INVALID,個人番号: "))
        #expect(FileManager.default.fileExists(atPath: unlistedOut + ".journal"))
        #expect(Self.mode(unlistedOut + ".journal") == 0o600)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: stats))) as? [String: Any])
        #expect((json["items"] as? Int) == 2)
        #expect(((json["outcomes"] as? [String: Int]) ?? [:]) == ["MATCH": 0, "NO_MATCH": 0, "INVALID": 1, "UNREACHABLE": 1])
        #expect(json["batch_latency_ms"] is [String: Double] || json["batch_latency_ms"] is [String: Int])
        #expect(json["items_per_second"] != nil && json["seconds"] != nil && json["batches"] != nil)
        // The journal binds the input: a changed input is refused, naming the journal.
        try (Self.header + "131016,\(izumo[6]),,\n").write(toFile: unlisted, atomically: true, encoding: .utf8)
        let changed = try Renkei.run(["inquire", "bulk", "--node", matsue, unlisted, "--out", unlistedOut])
        #expect(changed.exitCode == 64, "\(changed.stderr)")
        #expect(changed.stderr.contains(unlistedOut + ".journal"))

        // A realistic input for Matsue, then every provider down.
        let movers = scratch.path + "/movers.csv"
        let gen = try Renkei.run(["gen", "movers", "--cluster-dir", dir, "--to", "322016", "--count", "30", "--seed", "9",
                                  "--out", movers, "--with-hints"])
        #expect(gen.exitCode == 0, "\(gen.stderr)")
        #expect(Self.mode(movers) == 0o600)
        let moverLines = try String(contentsOfFile: movers, encoding: .utf8).split(separator: "\r\n").map(String.init)
        #expect(moverLines.first == "前住所地市区町村コード,個人番号,氏名カナ,生年月日")
        #expect(moverLines.count == 31)
        #expect(!moverLines.dropFirst().contains { $0.hasPrefix("322016,") }, "nobody moves from Matsue to Matsue")
        let again = try Renkei.run(["gen", "movers", "--cluster-dir", dir, "--to", "322016", "--count", "30", "--seed", "9",
                                    "--out", scratch.path + "/movers2.csv", "--with-hints"])
        #expect(again.exitCode == 0)
        #expect(FileManager.default.contents(atPath: movers) == FileManager.default.contents(atPath: scratch.path + "/movers2.csv"))

        let down = try Renkei.run(["cluster", "down", "--dir", dir])
        try #require(down.exitCode == 0, "\(down.stderr)")
        let out = scratch.path + "/movers-results.csv"
        let offline = try Renkei.run(["inquire", "bulk", "--node", matsue, movers, "--out", out, "--retries", "2", "--progress", "lines"])
        #expect(offline.exitCode == 1, "\(offline.stdout)\(offline.stderr)")
        let results = try String(contentsOfFile: out, encoding: .utf8)
        let lines = results.split(separator: "\r\n").map(String.init)
        #expect(lines.count == 31)
        for (i, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            #expect(fields[0] == String(i + 1))
            #expect(fields[1] == String(moverLines[i + 1].prefix(6)))
            #expect(fields[2] == "UNREACHABLE", "\(line)")
            #expect(fields[3].hasPrefix("node ") && fields[3].contains("unreachable after 2 attempt(s)"), "\(line)")
        }
        for line in moverLines.dropFirst() {
            let number = line.split(separator: ",")[1]
            #expect(!results.contains(number))
            #expect(!offline.stderr.contains(number) && !offline.stdout.contains(number))
        }
        #expect(offline.stderr.contains("inquire bulk: 30/30 rows"), "\(offline.stderr)")
        #expect(FileManager.default.fileExists(atPath: out + ".journal"), "kept for a rerun")
        let rerun = try Renkei.run(["inquire", "bulk", "--node", matsue, movers, "--out", out, "--retries", "1", "--progress", "none"])
        #expect(rerun.exitCode == 1)
        #expect(try String(contentsOfFile: out, encoding: .utf8).replacingOccurrences(of: "after 1 attempt(s)", with: "after 2 attempt(s)") == results)
    }
}
