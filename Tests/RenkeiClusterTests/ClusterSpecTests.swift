import Foundation
import Testing
@testable import RenkeiCluster

/// The cluster file's rules: each broken rule is refused naming the field.
@Suite struct ClusterSpecTests {
    static let valid = """
    {"seed": 7, "nodes": [
      {"name": "matsue", "port": 17441, "municipalities": [{"code": "322016", "residents": 10}]},
      {"name": "shared", "host": "127.0.0.1", "port": 17442,
       "municipalities": [{"code": "322024", "name": "浜田市", "residents": 5}, {"code": "322067", "residents": 6}]}
    ]}
    """

    func parse(_ text: String) throws(ClusterError) -> ClusterSpec {
        try ClusterSpec.parse(Data(text.utf8), source: "test.json")
    }

    /// The message of the error `text` is refused with.
    func refusal(_ text: String) -> String? {
        do throws(ClusterError) {
            _ = try parse(text)
            return nil
        } catch {
            #expect(error.code == .invalidSpec)
            return error.message
        }
    }

    @Test func validFileParsesWithDefaultsAndKnownNames() throws {
        let spec = try parse(Self.valid)
        #expect(spec.seed == 7)
        #expect(spec.directoryValidDays == ClusterSpec.defaultDirectoryValidDays)
        #expect(spec.nodes.map(\.host) == ["127.0.0.1", "127.0.0.1"])
        // Omitted names come from RenkeiSynth's table.
        #expect(spec.nodes[0].municipalities[0].name == "松江市")
        #expect(spec.nodes[1].municipalities[1].name == "安来市")
        #expect(spec.codes == ["322016", "322024", "322067"])
        #expect(spec.node(hosting: "322067")?.name == "shared")
        #expect(spec.node(hosting: "322032") == nil)
    }

    @Test func shippedLocalClusterIsValid() throws {
        // Tests/RenkeiClusterTests/ClusterSpecTests.swift → repository root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let spec = try ClusterSpec.load(contentsOf: root.appendingPathComponent("Cluster/local.json").path)
        #expect(spec.nodes.map(\.name) == ["matsue", "izumo", "hamada-yasugi"])
        #expect(spec.node(hosting: "322016")?.municipalities.count == 1)
        #expect(spec.node(hosting: "322032")?.municipalities.count == 1)
        #expect(spec.node(hosting: "322024")?.name == "hamada-yasugi")
        #expect(spec.node(hosting: "322067")?.name == "hamada-yasugi")
        #expect(Set(spec.nodes.map(\.port)).count == 3)
    }

    @Test func codeHostedTwiceNamesTheField() {
        let message = refusal("""
        {"nodes": [
          {"name": "a", "port": 1001, "municipalities": [{"code": "322016", "residents": 1}]},
          {"name": "b", "port": 1002, "municipalities": [{"code": "322032", "residents": 1}, {"code": "322016", "residents": 1}]}
        ]}
        """)
        #expect(message?.contains("test.json: nodes[1].municipalities[1].code") == true, "\(message ?? "accepted")")
        #expect(message?.contains("already hosted by node a") == true)
    }

    @Test func duplicateCodeOnOneNodeIsRefused() {
        let message = refusal("""
        {"nodes": [{"name": "a", "port": 1001, "municipalities": [{"code": "322016", "residents": 1}, {"code": "322016", "residents": 2}]}]}
        """)
        #expect(message?.contains("nodes[0].municipalities[1].code") == true, "\(message ?? "accepted")")
    }

    @Test func badCheckDigitNamesFieldAndRule() {
        let message = refusal("""
        {"nodes": [{"name": "a", "port": 1001, "municipalities": [{"code": "322017", "residents": 1}]}]}
        """)
        #expect(message?.contains("nodes[0].municipalities[0].code") == true, "\(message ?? "accepted")")
        #expect(message?.contains("checkDigit") == true)
    }

    @Test func portClashIsRefused() {
        let message = refusal("""
        {"nodes": [
          {"name": "a", "port": 1001, "municipalities": [{"code": "322016", "residents": 1}]},
          {"name": "b", "port": 1001, "municipalities": [{"code": "322032", "residents": 1}]}
        ]}
        """)
        #expect(message?.contains("nodes[1].port") == true, "\(message ?? "accepted")")
        #expect(message?.contains("127.0.0.1:1001") == true)
    }

    @Test func samePortOnAnotherHostIsAllowed() throws {
        let spec = try parse("""
        {"nodes": [
          {"name": "a", "port": 1001, "municipalities": [{"code": "322016", "residents": 1}]},
          {"name": "b", "host": "127.0.0.2", "port": 1001, "municipalities": [{"code": "322032", "residents": 1}]}
        ]}
        """)
        #expect(spec.nodes.count == 2)
    }

    @Test func emptyNodeAndOtherRulesAreRefused() {
        let cases: [(String, String)] = [
            (#"{"nodes": []}"#, "nodes: list at least one node"),
            (#"{"nodes": [{"name": "a", "port": 1001, "municipalities": []}]}"#, "nodes[0].municipalities: a node hosts at least one"),
            (#"{"nodes": [{"name": "../x", "port": 1001, "municipalities": [{"code": "322016", "residents": 1}]}]}"#, "nodes[0].name"),
            (#"{"nodes": [{"name": "a", "port": 0, "municipalities": [{"code": "322016", "residents": 1}]}]}"#, "nodes[0].port"),
            (#"{"nodes": [{"name": "a", "host": "localhost", "port": 1, "municipalities": [{"code": "322016", "residents": 1}]}]}"#, "nodes[0].host"),
            (#"{"nodes": [{"name": "a", "port": 1, "municipalities": [{"code": "322016", "residents": 0}]}]}"#, "nodes[0].municipalities[0].residents"),
            (#"{"nodes": [{"name": "a", "port": 1, "municipalities": [{"code": "011002", "residents": 1}]}, {"name": "a", "port": 2, "municipalities": [{"code": "322016", "residents": 1}]}]}"#, "nodes[1].name"),
            // 999997 has a valid check digit but no built-in name.
            (#"{"nodes": [{"name": "a", "port": 1, "municipalities": [{"code": "999997", "residents": 1}]}]}"#, "nodes[0].municipalities[0].name: required"),
            (#"{"nodes": [{"name": "a", "municipalities": [{"code": "322016", "residents": 1}]}]}"#, "nodes[0].port: required"),
            (#"{"directoryValidDays": 0, "nodes": [{"name": "a", "port": 1, "municipalities": [{"code": "322016", "residents": 1}]}]}"#, "directoryValidDays"),
            ("not json", "not a cluster file"),
        ]
        for (text, expected) in cases {
            let message = refusal(text)
            #expect(message?.contains(expected) == true, "\(text) → \(message ?? "accepted"), expected \(expected)")
        }
    }

    @Test func overridesApplyPortsAndResidentsAndAreValidated() throws {
        let spec = try parse(Self.valid)
        let moved = try ClusterOverrides(portBase: 20000, residents: .each(3)).apply(to: spec)
        #expect(moved.nodes.map(\.port) == [20000, 20001])
        #expect(moved.nodes.flatMap { $0.municipalities.map(\.residents) } == [3, 3, 3])
        let scaled = try ClusterOverrides(residents: .scaled(0.01)).apply(to: spec)
        // At least one resident each, however small the factor.
        #expect(scaled.nodes.flatMap { $0.municipalities.map(\.residents) } == [1, 1, 1])
        #expect(try ClusterOverrides(residents: .scaled(2)).apply(to: spec).municipality("322067")?.residents == 12)
        #expect(throws: ClusterError.self) { try ClusterOverrides(portBase: 65_535).apply(to: spec) }
    }

    // MARK: netns

    static let withNamespaces = """
    {"nodes": [
      {"name": "a", "host": "10.213.200.11", "port": 17441, "netns": "rkpt1-a",
       "municipalities": [{"code": "322016", "residents": 1}]},
      {"name": "b", "port": 17442, "municipalities": [{"code": "322032", "residents": 1}]}
    ],
     "vault": {"host": "10.213.200.13", "port": 17450, "netns": "rkpt1-v"}}
    """

    @Test func netnsIsReadForNodesAndTheVaultAndReachesTheirProcesses() throws {
        let spec = try parse(Self.withNamespaces)
        #expect(spec.nodes.map(\.netns) == ["rkpt1-a", nil])
        #expect(spec.vault?.netns == "rkpt1-v")
        // cluster.json keeps it (restart starts the process in the same namespace) …
        let again = try JSONDecoder().decode(ClusterSpec.self, from: JSONEncoder().encode(spec))
        #expect(again == spec)
        // … and a file without it is written as before, without the key.
        let plain = String(decoding: try JSONEncoder().encode(try parse(Self.valid)), as: UTF8.self)
        #expect(!plain.contains("netns"))
        let plan = ClusterPlan(spec: spec, baseDirectory: "/tmp/c")
        #expect(plan.nodes.map(\.process.netns) == ["rkpt1-a", nil])
        #expect(plan.vault?.process.netns == "rkpt1-v")
        #expect(plan.process(named: "b")?.netns == nil)
    }

    @Test func badNetnsNamesAreRefusedNamingTheField() throws {
        func node(_ netns: String) -> String {
            #"{"nodes": [{"name": "a", "port": 1, "netns": "\#(netns)", "municipalities": [{"code": "322016", "residents": 1}]}]}"#
        }
        func vault(_ netns: String) -> String {
            #"{"nodes": [{"name": "a", "port": 1, "municipalities": [{"code": "322016", "residents": 1}]}], "vault": {"port": 2, "netns": "\#(netns)"}}"#
        }
        for bad in ["", "Upper", "a/b", "../x", "-x", "a b", "a_b", "sixteen-chars-xx", "ns\\u0000x"] {
            let nodeMessage = refusal(node(bad))
            #expect(nodeMessage?.contains("nodes[0].netns: must be 1 to 15 of a-z, 0-9 and '-'") == true, "\(bad) → \(nodeMessage ?? "accepted")")
            let vaultMessage = refusal(vault(bad))
            #expect(vaultMessage?.contains("vault.netns: must be 1 to 15") == true, "\(bad) → \(vaultMessage ?? "accepted")")
        }
        for good in ["a", "0", "rkpt4194304-hub", "x-1"] {
            #expect(try parse(node(good)).nodes[0].netns == good)
            #expect(try parse(vault(good)).vault?.netns == good)
        }
        let wrongType = refusal(#"{"nodes": [{"name": "a", "port": 1, "netns": 5, "municipalities": [{"code": "322016", "residents": 1}]}]}"#)
        #expect(wrongType?.contains("nodes[0].netns: wrong type") == true, "\(wrongType ?? "accepted")")
    }

    @Test func aMissingNamespaceIsRefusedBeforeAnythingStarts() throws {
        let missing = "rkpt-none-\(getpid() % 10_000)"
        let process = SupervisedProcess(name: "a", command: .node, configPath: "/tmp/c/nodes/a/node.json", logPath: "/dev/null",
                                        pidPath: "/tmp/none.pid", exitPath: "/tmp/none.exit", supervisorPIDPath: "/tmp/none.spid",
                                        netns: missing)
        do throws(ClusterError) {
            _ = try NodeProcesses.netnsExecPrefix(missing, for: process)
            Issue.record("a namespace that does not exist was accepted")
        } catch {
            #expect(error.code == .start)
            // Without iproute2 the message says that instead; either way it names the namespace.
            #expect(error.message.contains("\"\(missing)\""), "\(error.message)")
            #expect(error.message.contains("node a"), "\(error.message)")
        }
    }
}
