#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RenkeiCore
import RenkeiSynth
import Testing

/// End to end: cluster up → gen movers → inquire bulk, against the real
/// provider. NEEDS THE PROVIDER SIDE (InquireBulk in TransferInquiryService):
/// run after merging; on the requester branch alone every row is UNREACHABLE.
@Suite(.serialized) struct InquireBulkProviderTests {
    /// The cluster's people (spec seed 5): number → (code, doses).
    static func population() throws -> [String: (code: String, doses: Int)] {
        var all: [String: (String, Int)] = [:]
        for (code, count) in [("322016", 40), ("322032", 40), ("322024", 20), ("322067", 20)] {
            let g = PopulationGenerator(spec: PopulationSpec(municipality: try MunicipalityCode(code), count: count, seed: 5))
            for i in 0..<count {
                let p = g.person(at: i)
                all[p.resident.individualNumber.digits] = (code, p.vaccinations.count)
            }
        }
        return all
    }

    static func lines(_ path: String) throws -> [[String]] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\r\n")
            .map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
    }

    struct Cluster {
        let scratch: Scratch
        let dir: String
        init() throws {
            scratch = try Scratch()
            let specPath = scratch.path + "/cluster.json"
            try ClusterCommandTests.spec(ports: ClusterCommandTests.freePorts(3)).write(toFile: specPath, atomically: true, encoding: .utf8)
            dir = scratch.path + "/c"
            let up = try Renkei.run(["cluster", "up", specPath, "--dir", dir])
            try #require(up.exitCode == 0, "cluster up failed: \(up.stderr)")
        }
        func down() { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        func movers(count: Int, seed: Int, hints: Bool) throws -> String {
            let path = scratch.path + "/movers-\(seed).csv"
            let gen = try Renkei.run(["gen", "movers", "--cluster-dir", dir, "--to", "322016", "--count", "\(count)", "--seed", "\(seed)",
                                      "--out", path, "--misaddressed", "0.2", "--unknown", "0.2"] + (hints ? ["--with-hints"] : []))
            try #require(gen.exitCode == 0, "\(gen.stderr)")
            return path
        }
    }

    @Test func everyRealMoverMatchesWithTheProvidersDosesAndTheRestNoMatch() throws {
        let cluster = try Cluster()
        defer { cluster.down() }
        let input = try cluster.movers(count: 60, seed: 3, hints: true)
        let out = cluster.scratch.path + "/results.csv"
        let run = try Renkei.run(["inquire", "bulk", "--node", cluster.dir + "/322016", input, "--out", out, "--batch-size", "7",
                                  "--stats-json", cluster.scratch.path + "/stats.json"])
        #expect(run.exitCode == 0, "\(run.stdout)\(run.stderr)")
        let population = try Self.population()
        let rows = try Self.lines(input).dropFirst()
        let results = try Self.lines(out).dropFirst()
        #expect(rows.count == 60 && results.count == 60)
        var kinds = (real: 0, misaddressed: 0, unknown: 0)
        for (row, result) in zip(rows, results) {
            let (code, number) = (row[0], row[1])
            #expect(result[1] == code)
            switch population[number] {
            case let person? where person.code == code:
                kinds.real += 1
                #expect(result[2] == "MATCH", "\(result)")
                #expect(result[4] == String(person.doses), "\(result)")
            case .some:
                kinds.misaddressed += 1
                #expect(result[2] == "NO_MATCH", "\(result)")
            case nil:
                kinds.unknown += 1
                #expect(result[2] == "NO_MATCH", "\(result)")
            }
        }
        #expect(kinds.real == 36 && kinds.misaddressed == 12 && kinds.unknown == 12)
        let stats = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: cluster.scratch.path + "/stats.json"))) as? [String: Any])
        #expect((stats["outcomes"] as? [String: Int])?["MATCH"] == 36)
        #expect(((stats["batches"] as? Int) ?? 0) >= 60 / 7)
        let audit = try Renkei.run(["audit", "verify", "--node", cluster.dir + "/322016"])
        #expect(audit.exitCode == 0, "\(audit.stdout)\(audit.stderr)")
    }

    @Test func aProviderDownMakesOnlyItsRowsUnreachable() throws {
        let cluster = try Cluster()
        defer { cluster.down() }
        let input = try cluster.movers(count: 40, seed: 4, hints: false)
        let state = try ClusterCommandTests.json(cluster.dir + "/cluster.json")
        let processes = try #require(state["processes"] as? [[String: Any]])
        let izumo = try #require(processes.first { $0["name"] as? String == "izumo" })
        let pid = try #require((izumo["pid"] as? NSNumber)?.int32Value)
        #expect(kill(pid, SIGKILL) == 0)
        while ClusterCommandTests.alive(pid) { usleep(20_000) }
        let out = cluster.scratch.path + "/results.csv"
        let run = try Renkei.run(["inquire", "bulk", "--node", cluster.dir + "/322016", input, "--out", out, "--retries", "2"])
        #expect(run.exitCode == 1, "\(run.stdout)\(run.stderr)")
        let rows = try Self.lines(input).dropFirst()
        let results = try Self.lines(out).dropFirst()
        var izumoRows = 0
        for (row, result) in zip(rows, results) {
            if row[0] == "322032" {
                izumoRows += 1
                #expect(result[2] == "UNREACHABLE" && result[3].contains("izumo"), "\(result)")
            } else {
                #expect(result[2] == "MATCH" || result[2] == "NO_MATCH", "\(result)")
            }
        }
        #expect(izumoRows > 0)
    }

    @Test func killedHalfwayAndRerunGivesTheSameResults() throws {
        let cluster = try Cluster()
        defer { cluster.down() }
        let input = try cluster.movers(count: 80, seed: 5, hints: true)
        let view = cluster.dir + "/322016"
        let reference = cluster.scratch.path + "/reference.csv"
        let whole = try Renkei.run(["inquire", "bulk", "--node", view, input, "--out", reference, "--batch-size", "2", "--streams-per-provider", "1"])
        #expect(whole.exitCode == 0, "\(whole.stderr)")

        let out = cluster.scratch.path + "/results.csv"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Renkei.executable)
        process.arguments = ["inquire", "bulk", "--node", view, input, "--out", out, "--batch-size", "2", "--streams-per-provider", "1",
                             "--progress", "none"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for some settled batches in the journal, then kill -9.
        var journaled = 0
        while process.isRunning, journaled < 20 {
            journaled = ((try? String(contentsOfFile: out + ".journal", encoding: .utf8)) ?? "").split(separator: "\n").count - 1
            usleep(5_000)
        }
        let killed = process.isRunning
        if killed { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        #expect(killed, "the run finished before it could be killed; make the input larger")
        #expect(!FileManager.default.fileExists(atPath: out) || !killed)
        let resumed = try Renkei.run(["inquire", "bulk", "--node", view, input, "--out", out, "--batch-size", "2", "--streams-per-provider", "1"])
        #expect(resumed.exitCode == 0, "\(resumed.stderr)")
        #expect(resumed.stdout.contains("from the journal"), "\(resumed.stdout)")
        #expect(FileManager.default.contents(atPath: out) == FileManager.default.contents(atPath: reference))
        #expect(!FileManager.default.fileExists(atPath: out + ".journal"))
    }
}
