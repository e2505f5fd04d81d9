#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// `renkei doctor` on a real running node: everything ok, then each broken
/// setting named with its fix, and ok again once fixed.
@Suite(.serialized) struct DoctorCommandTests {
    @Test func findsWhatIsWrongAndSaysWhatToDo() throws {
        let scratch = try Scratch()
        let ports = try ClusterCommandTests.freePorts(2)
        try """
        {"seed": 2, "nodes": [{"name": "matsue", "port": \(ports[0]), "municipalities": [{"code": "322016", "residents": 3}]},
                              {"name": "izumo", "port": \(ports[1]), "municipalities": [{"code": "322032", "residents": 3}]}]}
        """.write(toFile: scratch.path + "/cluster.json", atomically: true, encoding: .utf8)
        let dir = scratch.path + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        let up = try Renkei.run(["cluster", "up", scratch.path + "/cluster.json", "--dir", dir])
        try #require(up.exitCode == 0, "cluster up failed: \(up.stderr)")

        let healthy = try Renkei.run(["doctor", "--node", dir + "/322016"])
        #expect(healthy.exitCode == 0, "\(healthy.stdout)\(healthy.stderr)")
        for line in ["OK    certificate:", "OK    directory:", "OK    directory-entries:", "OK    data-directory:", "OK    private-key:",
                     "OK    master-key:", "OK    admin-socket: a node is serving", "OK    disk-space:",
                     "OK    clock-skew: 1 peer(s) within 2 s; largest: izumo is "] {
            #expect(healthy.stdout.contains(line), "missing \(line) in\n\(healthy.stdout)")
        }

        let data = dir + "/nodes/matsue/data"
        #expect(chmod(data, 0o755) == 0)
        let open = try Renkei.run(["doctor", "--node", dir + "/322016"])
        #expect(open.exitCode == 1)
        #expect(open.stdout.contains("FAIL  data-directory") && open.stdout.contains("fix: chmod 700 \(data)"), "\(open.stdout)")
        #expect(chmod(data, 0o700) == 0)

        let key = dir + "/nodes/matsue/tls/matsue.key"
        #expect(chmod(key, 0o644) == 0)
        let readable = try Renkei.run(["doctor", "--config", dir + "/nodes/matsue/node.json", "--json"])
        #expect(readable.exitCode == 1)
        let findings = try #require(try JSONSerialization.jsonObject(with: Data(readable.stdout.utf8)) as? [[String: Any]])
        let privateKey = try #require(findings.first { $0["check"] as? String == "private-key" })
        #expect(privateKey["status"] as? String == "fail")
        #expect((privateKey["fix"] as? String)?.hasPrefix("chmod 600") == true)
        #expect(chmod(key, 0o600) == 0)
        #expect(try Renkei.run(["doctor", "--node", dir + "/322016"]).exitCode == 0)
    }
}
