#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// `renkei cluster up|status|sample|down` with the real executable: real node
/// processes on loopback, real TLS, a transfer inquiry across nodes.
@Suite(.serialized) struct ClusterCommandTests {
    /// Ports the kernel just handed out (and took back); a clash with another
    /// process in the next seconds is possible but unlikely.
    static func freePorts(_ count: Int) throws -> [Int] {
        var sockets: [Int32] = []
        defer { for s in sockets { close(s) } }
        var ports: [Int] = []
        for _ in 0..<count {
            let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #expect(s >= 0)
            sockets.append(s)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) == 0 && getsockname(s, $0, &length) == 0 }
            }
            #expect(bound)
            ports.append(Int(UInt16(bigEndian: address.sin_port)))
        }
        return ports
    }

    static func spec(ports: [Int]) -> String {
        """
        {"seed": 5, "nodes": [
          {"name": "matsue", "port": \(ports[0]), "municipalities": [{"code": "322016", "name": "松江市", "residents": 40}]},
          {"name": "izumo", "port": \(ports[1]), "municipalities": [{"code": "322032", "name": "出雲市", "residents": 40}]},
          {"name": "hamada-yasugi", "port": \(ports[2]),
           "municipalities": [{"code": "322024", "residents": 20}, {"code": "322067", "residents": 20}]}
        ]}
        """
    }

    static func json(_ path: String) throws -> [String: Any] {
        let data = try #require(FileManager.default.contents(atPath: path), "missing \(path)")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func alive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        // A zombie (reaped by no one yet) has exited.
        let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    @Test func upInquireStatusDownAndDownAgain() throws {
        let scratch = try Scratch()
        let specPath = scratch.path + "/cluster.json"
        try Self.spec(ports: Self.freePorts(3)).write(toFile: specPath, atomically: true, encoding: .utf8)
        let dir = scratch.path + "/c"
        // Whatever happens below, no node outlives the test.
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }

        let clock = ContinuousClock()
        let upStarted = clock.now
        let up = try Renkei.run(["cluster", "up", specPath, "--dir", dir])
        let upSeconds = (clock.now - upStarted) / .seconds(1)
        try #require(up.exitCode == 0, "cluster up failed: \(up.stderr)")
        #expect(up.stdout.contains("322016") && up.stdout.contains("松江市") && up.stdout.contains("\(dir)/322016"))
        #expect(up.stdout.contains("hamada-yasugi"))
        #expect(up.stderr.contains("is serving"))
        print("cluster up: \(String(format: "%.1f", upSeconds)) s")

        // Processes: alive, listening, recorded.
        let state = try Self.json(dir + "/cluster.json")
        let processes = try #require(state["processes"] as? [[String: Any]])
        #expect(processes.count == 3)
        var pids: [String: Int32] = [:]
        for p in processes {
            let name = try #require(p["name"] as? String)
            let pid = try #require((p["pid"] as? NSNumber)?.int32Value)
            pids[name] = pid
            #expect(Self.alive(pid), "node \(name) pid \(pid) is not running")
            let log = (try? String(contentsOfFile: "\(dir)/nodes/\(name)/node.log", encoding: .utf8)) ?? ""
            #expect(log.contains("peer API listening"), "node \(name) log: \(log)")
        }

        // Operator views: each acts as its municipality, on its node.
        for (code, node) in [("322016", "matsue"), ("322032", "izumo"), ("322024", "hamada-yasugi"), ("322067", "hamada-yasugi")] {
            let view = try Self.json("\(dir)/\(code)/operator.json")
            #expect(view["actsAs"] as? String == code)
            #expect(view["nodeConfigPath"] as? String == "../nodes/\(node)/node.json")
        }
        // The shared node speaks for both of its municipalities…
        let certificate = try Renkei.run(["ca", "show", "\(dir)/nodes/hamada-yasugi/tls/hamada-yasugi.pem"])
        #expect(certificate.stdout.contains("codes       322024,322067"), "\(certificate.stdout)")
        // …and the signed directory routes both codes to it.
        let directory = try Renkei.run(["directory", "verify", "--dir", "\(dir)/pki", "\(dir)/federation/directory.signed.json"])
        #expect(directory.exitCode == 0, "\(directory.stderr)")
        let sharedRows = directory.stdout.split(separator: "\n").filter { $0.contains("hamada-yasugi") }
        #expect(sharedRows.count == 2 && sharedRows[0].hasPrefix("322024") && sharedRows[1].hasPrefix("322067"), "\(directory.stdout)")

        // A running cluster is not replaced, even with --force.
        let again = try Renkei.run(["cluster", "up", specPath, "--dir", dir, "--force"])
        #expect(again.exitCode == 1)
        #expect(again.stderr.contains("a cluster is running"), "\(again.stderr)")

        // Real numbers to ask about.
        let sample = try Renkei.run(["cluster", "sample", "--dir", dir, "--code", "322032", "--count", "3"])
        #expect(sample.exitCode == 0, "\(sample.stderr)")
        let izumoNumbers = sample.stdout.split(separator: "\n").map(String.init)
        #expect(izumoNumbers.count == 3 && izumoNumbers.allSatisfy { $0.count == 12 && $0.allSatisfy(\.isNumber) })
        let yasugiNumber = try #require(try Renkei.run(["cluster", "sample", "--dir", dir, "--code", "322067", "--count", "1"])
            .stdout.split(separator: "\n").first.map(String.init))
        let matsueNumber = try #require(try Renkei.run(["cluster", "sample", "--dir", dir, "--code", "322016", "--count", "1"])
            .stdout.split(separator: "\n").first.map(String.init))

        // Issue 3's acceptance scenario, through the operator views. Matsue
        // asks Izumo, across node processes, over mutual TLS; the running
        // Matsue node asks (admin socket) and stores what it receives.
        let matsueView = "\(dir)/322016"
        let match = try Renkei.run(["inquire", "transfer", "--node", matsueView, "--from", "322032", "--number", izumoNumbers[1]])
        #expect(match.exitCode == 0, "\(match.stdout)\(match.stderr)")
        #expect(match.stdout.hasPrefix("MATCH"), "\(match.stdout)")
        #expect(match.stdout.contains("stored    stored, source 322032"), "\(match.stdout)")
        // The same Izumo number asked of Hamada: misaddressed, no one.
        let misaddressed = try Renkei.run(["inquire", "transfer", "--node", matsueView, "--from", "322024", "--number", izumoNumbers[1]])
        #expect(misaddressed.exitCode == 3, "\(misaddressed.stdout)\(misaddressed.stderr)")
        #expect(misaddressed.stdout.hasPrefix("NO_MATCH"))
        // Yasugi's tenant on the shared node answers for Yasugi (the --config form).
        let matsueConfig = "\(dir)/nodes/matsue/node.json"
        // A running node needs a login session: here the one the view's demo account opened above.
        let shared = try Renkei.run(["inquire", "transfer", "--config", matsueConfig, "--as", "322016", "--from", "322067", "--number", yasugiNumber],
                                    environment: ["RENKEI_SESSION_FILE": matsueView + "/.session"])
        #expect(shared.exitCode == 0, "\(shared.stdout)\(shared.stderr)")
        // A Yasugi resident is no one in Hamada's tenant on the same node.
        let otherTenant = try Renkei.run(["inquire", "transfer", "--node", matsueView, "--from", "322024", "--number", yasugiNumber])
        #expect(otherTenant.exitCode == 3, "\(otherTenant.stdout)\(otherTenant.stderr)")
        // Matsue's own resident is no one in Izumo.
        let noMatch = try Renkei.run(["inquire", "transfer", "--node", matsueView, "--from", "322032", "--number", matsueNumber])
        #expect(noMatch.exitCode == 3, "\(noMatch.stdout)\(noMatch.stderr)")
        // An invalid municipality code: a clear error, nothing sent.
        let invalid = try Renkei.run(["inquire", "transfer", "--node", matsueView, "--from", "999999", "--number", "123456789018"])
        #expect(invalid.exitCode == 64)
        #expect(invalid.stderr.contains("--from: not a valid municipality code"), "\(invalid.stderr)")
        // Hamada acts through its own view of the shared node.
        let hamadaAsks = try Renkei.run(["inquire", "transfer", "--node", "\(dir)/322024", "--from", "322016", "--number", matsueNumber])
        #expect(hamadaAsks.exitCode == 0, "\(hamadaAsks.stdout)\(hamadaAsks.stderr)")
        // Izumo marks the person as moved out, through its running node.
        let movedOut = try Renkei.run(["resident", "mark-moved-out", "--node", "\(dir)/322032", "--number", izumoNumbers[1], "--to", "322016"])
        #expect(movedOut.exitCode == 0, "\(movedOut.stdout)\(movedOut.stderr)")
        // Both sides' audit logs verify while the nodes run.
        for code in ["322016", "322032", "322024"] {
            let verify = try Renkei.run(["audit", "verify", "--node", "\(dir)/\(code)"])
            #expect(verify.exitCode == 0, "\(code): \(verify.stdout)\(verify.stderr)")
        }

        let status = try Renkei.run(["cluster", "status", "--dir", dir])
        #expect(status.exitCode == 0, "\(status.stdout)\(status.stderr)")
        #expect(status.stdout.components(separatedBy: "SERVING renkei.v1").count - 1 == 3, "\(status.stdout)")

        // No plaintext personal data at rest outside the encrypted stores,
        // and none in the node logs.
        let files = FileManager.default.enumerator(atPath: dir)?.compactMap { $0 as? String } ?? []
        #expect(!files.contains { $0.hasSuffix(".csv") }, "\(files.filter { $0.hasSuffix(".csv") })")
        for name in pids.keys {
            let log = (try? String(contentsOfFile: "\(dir)/nodes/\(name)/node.log", encoding: .utf8)) ?? ""
            for number in izumoNumbers + [yasugiNumber, matsueNumber] {
                #expect(!log.contains(number), "node \(name) logged an Individual Number")
            }
        }

        // Down: each node exits 0 after its graceful shutdown.
        let downStarted = clock.now
        let down = try Renkei.run(["cluster", "down", "--dir", dir])
        let downSeconds = (clock.now - downStarted) / .seconds(1)
        #expect(down.exitCode == 0, "\(down.stdout)\(down.stderr)")
        for (name, pid) in pids {
            #expect(down.stdout.contains("node \(name) (pid \(pid)): exited 0, graceful shutdown after SIGTERM"), "\(down.stdout)")
            #expect(!Self.alive(pid), "node \(name) pid \(pid) still running after cluster down")
            let exit = try Self.json("\(dir)/nodes/\(name)/node.exit")
            #expect((exit["status"] as? NSNumber)?.intValue == 0)
        }
        #expect(downSeconds < 15, "cluster down took \(downSeconds) s")
        let stopped = try Renkei.run(["cluster", "status", "--dir", dir])
        #expect(stopped.exitCode == 1)
        #expect(stopped.stdout.contains("stopped"))

        // Down again: nothing to do, and says so.
        let downAgain = try Renkei.run(["cluster", "down", "--dir", dir])
        #expect(downAgain.exitCode == 0, "\(downAgain.stderr)")
        #expect(downAgain.stdout.contains("nothing is running"), "\(downAgain.stdout)")

        // What Matsue now holds (offline, the node stopped): the received file.
        let held = try Renkei.run(["resident", "show", "--data", "\(dir)/nodes/matsue/data", "--code", "322016", "--number", izumoNumbers[1]])
        #expect(held.exitCode == 0, "\(held.stdout)\(held.stderr)")
        #expect(held.stdout.contains("received files  1"), "\(held.stdout)")
        let izumoHolds = try Renkei.run(["resident", "show", "--data", "\(dir)/nodes/izumo/data", "--code", "322032", "--number", izumoNumbers[1]])
        #expect(izumoHolds.stdout.contains("to 322016"), "\(izumoHolds.stdout)")

        // The data stays; --purge removes it.
        #expect(FileManager.default.fileExists(atPath: "\(dir)/nodes/izumo/data/node.json"))
        let purge = try Renkei.run(["cluster", "down", "--dir", dir, "--purge"])
        #expect(purge.exitCode == 0, "\(purge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir))
    }

    @Test func nodeThatIgnoresSIGTERMIsKilledAndTheOutputSaysSo() throws {
        let scratch = try Scratch()
        let specPath = scratch.path + "/one.json"
        let port = try Self.freePorts(1)[0]
        try """
        {"nodes": [{"name": "stuck", "port": \(port), "municipalities": [{"code": "322041", "residents": 3}]}]}
        """.write(toFile: specPath, atomically: true, encoding: .utf8)
        let dir = scratch.path + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "1"]) }
        let up = try Renkei.run(["cluster", "up", specPath, "--dir", dir])
        try #require(up.exitCode == 0, "\(up.stderr)")
        let pid = try #require(FileManager.default.contents(atPath: dir + "/nodes/stuck/node.pid")
            .flatMap { Int32(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) })
        // A stopped process cannot act on SIGTERM; only SIGKILL ends it.
        #expect(kill(pid, SIGSTOP) == 0)
        let down = try Renkei.run(["cluster", "down", "--dir", dir, "--grace", "1"])
        #expect(down.exitCode == 0, "\(down.stdout)\(down.stderr)")
        #expect(down.stdout.contains("node stuck (pid \(pid)): did not stop within the grace period; sent SIGKILL: killed by SIGKILL"), "\(down.stdout)")
        #expect(!Self.alive(pid))
        let exit = try Self.json(dir + "/nodes/stuck/node.exit")
        #expect((exit["signal"] as? NSNumber)?.int32Value == SIGKILL)
        let status = try Renkei.run(["cluster", "status", "--dir", dir])
        #expect(status.stdout.contains("last run killed by SIGKILL"), "\(status.stdout)")
    }

    @Test func codeHostedTwiceIsRefusedNamingTheField() throws {
        let scratch = try Scratch()
        let specPath = scratch.path + "/bad.json"
        try """
        {"nodes": [
          {"name": "a", "port": 17991, "municipalities": [{"code": "322016", "residents": 5}]},
          {"name": "b", "port": 17992, "municipalities": [{"code": "322016", "residents": 5}]}
        ]}
        """.write(toFile: specPath, atomically: true, encoding: .utf8)
        let dir = scratch.path + "/c"
        let result = try Renkei.run(["cluster", "up", specPath, "--dir", dir])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("nodes[1].municipalities[0].code"), "\(result.stderr)")
        #expect(result.stderr.contains("already hosted by node a"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir), "a refused cluster file still created the directory")
    }

    @Test func downOfADirectoryWithoutAClusterFails() throws {
        let scratch = try Scratch()
        let result = try Renkei.run(["cluster", "down", "--dir", scratch.path])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("holds no cluster"), "\(result.stderr)")
    }
}
