#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RenkeiCore
import RenkeiSynth
import Testing

/// A partitioned network, for real (issue 7, item 6): node A (Matsue,
/// 322016), node B (Izumo, 322032) and the vault each run in their own Linux
/// network namespace with their own address, joined by veth links to a
/// bridge in a hub namespace; the test's own namespace has a link into the
/// hub too, for `cluster up`, its health checks and the restore. Links are
/// cut and restored with `ip link set … down|up` on the hub's side.
///
/// What it shows, each step asserted:
/// 1. The cluster comes up across the namespaces; A asks B.
/// 2. B cut off: `inquire transfer` from A fails fast (well under the
///    30 s bound; the time is printed) as a retryable failure naming node
///    and code and never the number; a bulk run ends with every row
///    UNREACHABLE in its journal; with the link back, the rerun answers
///    every row, the same as a run that never saw the cut.
/// 3. The vault cut off: writes on A go on, `backup status` shows the lag;
///    with the link back the vault acknowledges everything (no gap) and a
///    restore drill finds the same counts as the live node: nothing lost.
///
/// Needs root and iproute2 (`ip netns`); skipped otherwise. It uses only
/// names starting with `rkpt<pid>-` and a 10.213.N.0/24 no route of the host
/// uses, removes them on every exit path (and leftovers of a killed run at
/// its start), and every step is bounded, the whole run by five minutes.
@Suite(.serialized, .enabled(if: Netns.available, "needs root and iproute2 network namespaces (ip netns add); skipped"))
struct PartitionTests {
    static let seed: UInt64 = 13
    static let residents = 200
    static let codeA = "322016", codeB = "322032"

    static func numbers(_ code: String, _ indices: Range<Int>) throws -> [String] {
        let generator = PopulationGenerator(spec: PopulationSpec(municipality: try MunicipalityCode(code), count: residents, seed: seed))
        return indices.map { generator.person(at: $0).resident.individualNumber.digits }
    }

    static func spec(_ net: PartitionNet) -> String {
        """
        {"seed": \(seed), "nodes": [
          {"name": "node-a", "host": "\(net.address(.a))", "port": 17441, "netns": "\(net.namespace(.a))",
           "municipalities": [{"code": "\(codeA)", "residents": \(residents)}]},
          {"name": "node-b", "host": "\(net.address(.b))", "port": 17442, "netns": "\(net.namespace(.b))",
           "municipalities": [{"code": "\(codeB)", "residents": \(residents)}]}
        ],
         "vault": {"name": "vault", "host": "\(net.address(.vault))", "port": 17450, "netns": "\(net.namespace(.vault))"}}
        """
    }

    /// The tails of the process logs, for failure messages.
    static func logs(_ dir: String) -> String {
        ["nodes/node-a/node.log", "nodes/node-b/node.log", "vault-site/vault.log"].map { path in
            let log = (try? String(contentsOfFile: dir + "/" + path, encoding: .utf8)) ?? "(none)"
            return "\n--- \(path) (last 2000 characters)\n" + String(log.suffix(2000))
        }.joined()
    }

    static func results(_ path: String) -> [String] {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\r\n").map(String.init)
    }

    static func uint(_ value: Any?) -> UInt64 { (value as? NSNumber)?.uint64Value ?? 0 }

    @Test(.timeLimit(.minutes(6)))
    func cutLinksFailFastRetryAndCatchUpWithNothingLost() throws {
        let deadline = ContinuousClock.now + .seconds(300)
        /// Seconds a step may take: `seconds`, or less if the run's five minutes end sooner.
        func budget(_ seconds: Double) throws -> Double {
            let left = (deadline - ContinuousClock.now) / .seconds(1)
            guard left > 1 else { throw BackupTestFailure("the partition test ran out of its five minutes") }
            return min(seconds, left)
        }
        func renkei(_ arguments: [String], seconds: Double = 120) throws -> (result: Renkei.Result, seconds: Double) {
            try runBounded(arguments, seconds: try budget(seconds))
        }

        let net = try PartitionNet()
        defer {
            net.remove()
            #expect(net.remains.isEmpty, "left behind: \(net.remains)")
        }
        let scratch = try Scratch()
        let dir = scratch.path + "/c"
        defer { _ = try? runBounded(["cluster", "down", "--dir", dir, "--grace", "5"], seconds: 60) }
        var logs: String { Self.logs(dir) }
        let viewA = dir + "/" + Self.codeA
        let numbersB = try Self.numbers(Self.codeB, 0..<40)

        // 1. Up across the namespaces; A asks B.
        let specPath = scratch.path + "/cluster.json"
        try Self.spec(net).write(toFile: specPath, atomically: true, encoding: .utf8)
        let (up, upSeconds) = try renkei(["cluster", "up", specPath, "--dir", dir], seconds: 180)
        try #require(up.exitCode == 0, "cluster up: \(up.stdout)\(up.stderr)\(logs)")
        print("partition: cluster up in \(net.subnet).0/24 took \(String(format: "%.1f", upSeconds)) s")
        for (name, member) in [("node-a", PartitionNet.Member.a), ("node-b", .b), ("vault", .vault)] {
            let pidFile = name == "vault" ? dir + "/vault-site/vault.pid" : dir + "/nodes/\(name)/node.pid"
            let text = (try? String(contentsOfFile: pidFile, encoding: .utf8)) ?? ""
            let pid = try #require(pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), "no pid in \(pidFile)")
            let inside = Self.networkNamespace(ofProcess: pid)
            #expect(inside != nil && inside == Self.networkNamespace(named: net.namespace(member)), "\(name) does not run in its namespace")
            #expect(inside != Self.networkNamespace(ofProcess: getpid()))
        }
        let first = try renkei(["inquire", "transfer", "--node", viewA, "--from", Self.codeB, "--number", numbersB[0]]).result
        #expect(first.exitCode == 0 && first.stdout.hasPrefix("MATCH"), "A→B: \(first.stdout)\(first.stderr)\(logs)")

        // A bulk run without a cut: what every later run must equal.
        let input = scratch.path + "/movers.csv"
        try (["前住所地市区町村コード,個人番号"] + numbersB[1...30].map { "\(Self.codeB),\($0)" })
            .joined(separator: "\n").appending("\n").write(toFile: input, atomically: true, encoding: .utf8)
        let baselineOut = scratch.path + "/baseline.csv"
        let baseline = try renkei(["inquire", "bulk", "--node", viewA, input, "--out", baselineOut, "--progress", "none"]).result
        try #require(baseline.exitCode == 0, "bulk without a cut: \(baseline.stdout)\(baseline.stderr)\(logs)")
        let expected = Self.results(baselineOut)
        #expect(expected.count == 31 && expected.dropFirst().allSatisfy { $0.contains(",\(Self.codeB),MATCH,") }, "\(expected)")

        // 2. B cut off.
        try net.cut(.b)
        let (cut, cutSeconds) = try renkei(["inquire", "transfer", "--node", viewA, "--from", Self.codeB, "--number", numbersB[31]],
                                           seconds: 60)
        print("partition: inquire transfer to the cut-off node failed after \(String(format: "%.1f", cutSeconds)) s: \(cut.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
        #expect(cut.exitCode == 1, "exit \(cut.exitCode): \(cut.stdout)\(cut.stderr)")
        #expect(cutSeconds < 30, "the inquiry took \(cutSeconds) s to fail")
        #expect(cut.stderr.contains("node node-b (\(Self.codeB))") && cut.stderr.contains("try again"), "\(cut.stderr)")
        #expect(cut.stderr.contains("unreachable"), "\(cut.stderr)")
        #expect(!cut.stderr.contains(numbersB[31]) && !cut.stdout.contains(numbersB[31]), "the number is in the output")
        // Retryable: the node classed it as a connection failure (its admin API answers UNAVAILABLE).
        let logA = (try? String(contentsOfFile: dir + "/nodes/node-a/node.log", encoding: .utf8)) ?? ""
        #expect(logA.contains("transfer inquiry failed") && logA.contains("connection"), "\(logs)")
        #expect(!logA.contains(numbersB[31]))

        let cutOut = scratch.path + "/during-cut.csv"
        let bulkArgs = ["inquire", "bulk", "--node", viewA, input, "--out", cutOut, "--retries", "2", "--progress", "none"]
        let (during, duringSeconds) = try renkei(bulkArgs, seconds: 90)
        print("partition: bulk run during the cut ended after \(String(format: "%.1f", duringSeconds)) s (2 attempts)")
        #expect(during.exitCode == 1, "\(during.stdout)\(during.stderr)")
        let unreachable = Self.results(cutOut)
        #expect(unreachable.count == 31, "\(unreachable)")
        for line in unreachable.dropFirst() {
            #expect(line.contains(",\(Self.codeB),UNREACHABLE,node node-b: unreachable after 2 attempt(s),"), "\(line)")
        }
        #expect(FileManager.default.fileExists(atPath: cutOut + ".journal"), "the journal is kept for the rerun")

        try net.restore(.b)
        let (rerun, rerunSeconds) = try renkei(bulkArgs)
        print("partition: bulk rerun with the link back took \(String(format: "%.1f", rerunSeconds)) s")
        #expect(rerun.exitCode == 0, "\(rerun.stdout)\(rerun.stderr)\(logs)")
        #expect(Self.results(cutOut) == expected, "the rerun's results differ from a run without the cut")
        #expect(!FileManager.default.fileExists(atPath: cutOut + ".journal"), "every row settled: no journal left")
        let back = try renkei(["inquire", "transfer", "--node", viewA, "--from", Self.codeB, "--number", numbersB[31]]).result
        #expect(back.exitCode == 0 && back.stdout.hasPrefix("MATCH"), "A→B after the cut: \(back.stdout)\(back.stderr)")

        // 3. The vault cut off while A changes.
        func backupStatus() throws -> [String: Any] {
            let status = try renkei(["backup", "status", "--node", viewA, "--json"], seconds: 30).result
            guard status.exitCode == 0 else { throw BackupTestFailure("backup status: exit \(status.exitCode): \(status.stderr)") }
            return try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any], "\(status.stdout)")
        }
        func poll(seconds: Double, until done: ([String: Any]) -> Bool) throws -> (status: [String: Any], ok: Bool) {
            let until = ContinuousClock.now + .seconds(try budget(seconds))
            var last: [String: Any] = [:]
            repeat {
                if let status = try? backupStatus() {
                    last = status
                    if done(status) { return (status, true) }
                }
                usleep(500_000)
            } while ContinuousClock.now < until
            return (last, false)
        }
        let (shipped, shippedOK) = try poll(seconds: 90) { s in
            Self.uint(s["lastChangeSeq"]) > 0 && Self.uint(s["lastAckedSeq"]) == Self.uint(s["lastChangeSeq"])
        }
        try #require(shippedOK, "the vault did not catch up before the cut: \(shipped)\(logs)")

        try net.cut(.vault)
        let population = scratch.path + "/population"
        let gen = try renkei(["gen", "population", "--code", Self.codeA, "--count", String(Self.residents + 30), "--seed", String(Self.seed),
                              "--out", population, "--progress", "none"]).result
        try #require(gen.exitCode == 0, "gen population: \(gen.stderr)")
        for kind in ["residents", "vaccinations"] {
            let imported = try renkei(["import", kind, "--node", viewA, population + "/\(kind).csv", "--progress", "none"]).result
            #expect(imported.exitCode == 0, "import \(kind) with the vault cut off: \(imported.stdout)\(imported.stderr)\(logs)")
        }
        let movedOut = try Self.numbers(Self.codeA, 5..<6)[0]
        let marked = try renkei(["resident", "mark-moved-out", "--node", viewA, "--number", movedOut, "--to", Self.codeB,
                                 "--on", "2026-11-01"]).result
        #expect(marked.exitCode == 0, "mark-moved-out with the vault cut off: \(marked.stdout)\(marked.stderr)")
        let stored = try renkei(["inquire", "transfer", "--node", viewA, "--from", Self.codeB, "--number", numbersB[35]]).result
        #expect(stored.exitCode == 0 && stored.stdout.hasPrefix("MATCH"), "\(stored.stdout)\(stored.stderr)")
        let (lagging, lagSeen) = try poll(seconds: 30) { s in
            Self.uint(s["lastAckedSeq"]) < Self.uint(s["lastChangeSeq"])
                && (((s["lagSeconds"] as? NSNumber)?.doubleValue ?? 0) >= 2 || (s["vaultReachable"] as? Bool) == false)
        }
        #expect(lagSeen, "backup status shows no lag with the vault cut off: \(lagging)")
        let lastChange = Self.uint(lagging["lastChangeSeq"])
        print("partition: with the vault cut off: \(lagging)")

        try net.restore(.vault)
        let restoredAt = ContinuousClock.now
        let (caughtUp, caughtUpOK) = try poll(seconds: 150) { s in
            Self.uint(s["lastAckedSeq"]) >= lastChange && Self.uint(s["lastAckedSeq"]) == Self.uint(s["lastChangeSeq"])
        }
        print("partition: the vault caught up \(String(format: "%.1f", (ContinuousClock.now - restoredAt) / .seconds(1))) s after the link came back: \(caughtUp)")
        #expect(caughtUpOK, "the vault did not catch up after the link came back: \(caughtUp)\(logs)")
        #expect((caughtUp["needsSnapshot"] as? Bool) == false && Self.uint(caughtUp["backlogDrops"]) == 0, "\(caughtUp)")

        let drill = try renkei(["backup", "drill", "--node", viewA, "--json"], seconds: 120).result
        #expect(drill.exitCode == 0, "backup drill: \(drill.stdout)\(drill.stderr)\(logs)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(drill.stdout.utf8)) as? [String: Any], "\(drill.stdout)")
        #expect(report["passed"] as? Bool == true, "\(drill.stdout)")
        let tenants = try #require(report["tenants"] as? [[String: Any]], "\(drill.stdout)")
        #expect(!tenants.isEmpty && tenants.allSatisfy { $0["status"] as? String == "OK" }, "\(drill.stdout)")
        // What A wrote with the vault away is in the restored copy: 30 more
        // residents, and a received file per person asked of B (1 + 30 + 1 + 1).
        let tenantA = try #require(tenants.first { $0["code"] as? String == Self.codeA }, "\(drill.stdout)")
        let live = tenantA["live"] as? [String: Any], restored = tenantA["restored"] as? [String: Any]
        #expect(Self.uint(live?["residents"]) == UInt64(Self.residents + 30), "\(drill.stdout)")
        #expect(Self.uint(live?["receivedFiles"]) == 33, "\(drill.stdout)")
        #expect(Self.uint(restored?["residents"]) == Self.uint(live?["residents"])
                && Self.uint(restored?["vaccinations"]) == Self.uint(live?["vaccinations"])
                && Self.uint(restored?["receivedFiles"]) == Self.uint(live?["receivedFiles"]), "\(drill.stdout)")
    }

    /// The network namespace of process `pid` (`net:[inode]`, the target of /proc/PID/ns/net).
    static func networkNamespace(ofProcess pid: pid_t) -> String? {
        try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/ns/net")
    }

    /// The network namespace `ip netns add NAME` made, in the same form.
    static func networkNamespace(named name: String) -> String? {
        var s = stat()
        guard stat("/run/netns/" + name, &s) == 0 else { return nil }
        return "net:[\(s.st_ino)]"
    }
}
