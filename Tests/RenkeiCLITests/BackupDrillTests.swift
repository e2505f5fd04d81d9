import Foundation
import Testing

/// `renkei backup drill` against a real cluster with a vault: a shared node
/// with two tenants ships to the vault process over mutual TLS; the drill
/// marks the node, restores it from the vault through the DR certificate and
/// compares. Then a byte flipped in the vault's newest segment must fail the
/// drill, naming the file.
@Suite(.serialized) struct BackupDrillTests {
    static func spec(ports: [Int]) -> String {
        """
        {"seed": 11, "nodes": [
          {"name": "hamada-yasugi", "port": \(ports[0]),
           "municipalities": [{"code": "322024", "residents": 15}, {"code": "322067", "residents": 12}]}
        ],
         "vault": {"name": "vault", "host": "127.0.0.1", "port": \(ports[1])}}
        """
    }

    @Test func drillPassesThenFailsNamingAFlippedSegment() throws {
        let scratch = try Scratch()
        let specPath = scratch.path + "/cluster.json"
        try Self.spec(ports: ClusterCommandTests.freePorts(2)).write(toFile: specPath, atomically: true, encoding: .utf8)
        let dir = scratch.path + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        let up = try Renkei.run(["cluster", "up", specPath, "--dir", dir])
        try #require(up.exitCode == 0, "cluster up failed: \(up.stdout)\(up.stderr)")

        // The plain report.
        let drill = try Renkei.run(["backup", "drill", "--node", "\(dir)/322024"])
        #expect(drill.exitCode == 0, "\(drill.stdout)\(drill.stderr)")
        #expect(drill.stdout.contains("backup drill of node hamada-yasugi: PASSED"), "\(drill.stdout)")
        let rows = drill.stdout.split(separator: "\n").filter { $0.hasPrefix("322024") || $0.hasPrefix("322067") }
        #expect(rows.count == 2 && rows.allSatisfy { $0.hasSuffix("OK") }, "\(drill.stdout)")
        #expect(rows.first?.contains("15") == true, "\(drill.stdout)")
        #expect(drill.stdout.contains("sentinel:  found"), "\(drill.stdout)")
        #expect(drill.stdout.contains("RPO:       ") && drill.stdout.contains("RTO:       "), "\(drill.stdout)")
        #expect(drill.stdout.contains("restored copy removed"))

        // JSON, into a named scratch directory that is kept.
        let kept = scratch.path + "/kept"
        let json = try Renkei.run(["backup", "drill", "--node", "\(dir)/322067", "--json", "--scratch", kept, "--keep"])
        #expect(json.exitCode == 0, "\(json.stdout)\(json.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json.stdout)")
        #expect(object["passed"] as? Bool == true)
        #expect(object["sentinel"] as? String == "found")
        #expect((object["rpoSeconds"] as? NSNumber) != nil && (object["rtoSeconds"] as? NSNumber) != nil, "\(json.stdout)")
        let tenants = try #require(object["tenants"] as? [[String: Any]])
        #expect(tenants.map { $0["status"] as? String } == ["OK", "OK"])
        #expect(FileManager.default.fileExists(atPath: kept + "/node.json"), "--keep left nothing in \(kept)")
        // The node logged each drill, with counts and no token.
        let log = (try? String(contentsOfFile: "\(dir)/nodes/hamada-yasugi/node.log", encoding: .utf8)) ?? ""
        #expect(log.components(separatedBy: "backup drill: sentinel written").count - 1 == 2, "\(log)")

        // Flip a byte in the newest segment the vault holds.
        let segments = "\(dir)/vault-site/data/nodes/hamada-yasugi/segments"
        let names = try FileManager.default.contentsOfDirectory(atPath: segments).filter { $0.hasSuffix(".seg.lz4") && !$0.hasPrefix(".") }
        let newest = try #require(names.max { (UInt64($0.prefix { $0.isNumber }) ?? 0) < (UInt64($1.prefix { $0.isNumber }) ?? 0) })
        let path = segments + "/" + newest
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let broken = try Renkei.run(["backup", "drill", "--node", "\(dir)/322024"])
        #expect(broken.exitCode == 1, "\(broken.stdout)\(broken.stderr)")
        #expect(broken.stderr.contains("drill FAILED"), "\(broken.stderr)")
        #expect(broken.stderr.contains(newest), "the failure does not name \(newest): \(broken.stderr)")
    }
}
