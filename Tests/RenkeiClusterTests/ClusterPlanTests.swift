import Foundation
import RenkeiPeer
import Testing
@testable import RenkeiCluster

/// The layout `cluster up` creates, computed without touching the disk.
@Suite struct ClusterPlanTests {
    let spec = try! ClusterSpec(seed: 3, nodes: [
        .init(name: "matsue", port: 17441, municipalities: [.init(code: "322016", residents: 4)]),
        .init(name: "hamada-yasugi", port: 17443, municipalities: [.init(code: "322024", residents: 2), .init(code: "322067", residents: 2)]),
    ]).validated()

    @Test func layoutOfNodesViewsAndFederation() {
        let plan = ClusterPlan(spec: spec, baseDirectory: "/tmp/c/")
        #expect(plan.baseDirectory == "/tmp/c")
        #expect(plan.statePath == "/tmp/c/cluster.json")
        #expect(plan.caDirectory == "/tmp/c/pki")
        #expect(plan.signedDirectoryPath == "/tmp/c/federation/directory.signed.json")
        #expect(plan.revocationListPath == "/tmp/c/federation/revocations.signed.json")
        #expect(plan.nodes.map(\.configPath) == ["/tmp/c/nodes/matsue/node.json", "/tmp/c/nodes/hamada-yasugi/node.json"])
        let shared = plan.node(named: "hamada-yasugi")!
        #expect(shared.dataDirectory == "/tmp/c/nodes/hamada-yasugi/data")
        #expect(shared.certificatePath == "/tmp/c/nodes/hamada-yasugi/tls/hamada-yasugi.pem")
        #expect(shared.privateKeyPath == "/tmp/c/nodes/hamada-yasugi/tls/hamada-yasugi.key")
        #expect(shared.logPath == "/tmp/c/nodes/hamada-yasugi/node.log")
        #expect(shared.pidPath == "/tmp/c/nodes/hamada-yasugi/node.pid")
        #expect(shared.endpoint == "127.0.0.1:17443")
        #expect(plan.views.map(\.directory) == ["/tmp/c/322016", "/tmp/c/322024", "/tmp/c/322067"])
        #expect(plan.views.map(\.nodeName) == ["matsue", "hamada-yasugi", "hamada-yasugi"])
        #expect(plan.views.map(\.name) == ["松江市", "浜田市", "安来市"])
    }

    @Test func nodeConfigPathsAreRelativeAndResolveIntoTheCluster() {
        let plan = ClusterPlan(spec: spec, baseDirectory: "/tmp/c")
        let node = plan.nodes[1]
        var config = node.config
        #expect(config.listenHost == "127.0.0.1")
        #expect(config.listenPort == 17443)
        #expect(!config.dataDirectory.hasPrefix("/"))
        // What `renkei node --config` does with it.
        config.resolvePaths(relativeTo: node.directory)
        #expect(config.dataDirectory == node.dataDirectory)
        #expect(config.certificatePath == node.certificatePath)
        #expect(config.privateKeyPath == node.privateKeyPath)
        #expect(URL(fileURLWithPath: config.directoryPath).standardizedFileURL.path == plan.signedDirectoryPath)
        #expect(URL(fileURLWithPath: config.revocationListPath!).standardizedFileURL.path == plan.revocationListPath)
    }

    @Test func operatorViewsActAsTheirMunicipalityOnTheHostingNode() {
        let plan = ClusterPlan(spec: spec, baseDirectory: "/tmp/c")
        for view in plan.views {
            #expect(view.view.actsAs == view.code)
            let resolved = URL(fileURLWithPath: view.directory + "/" + view.view.nodeConfigPath).standardizedFileURL.path
            #expect(resolved == plan.node(named: view.nodeName)!.configPath)
        }
    }

    @Test func directoryInputListsEveryNodeWithItsCodesAndCertificate() {
        let plan = ClusterPlan(spec: spec, baseDirectory: "/tmp/c")
        let input = plan.directoryInput
        #expect(input.nodes.map(\.name) == ["matsue", "hamada-yasugi"])
        #expect(input.nodes.map(\.endpoint) == ["127.0.0.1:17441", "127.0.0.1:17443"])
        #expect(input.nodes[1].codes == ["322024", "322067"])
        let certificate = URL(fileURLWithPath: plan.federationDirectory + "/" + input.nodes[1].certificate!).standardizedFileURL.path
        #expect(certificate == plan.nodes[1].certificatePath)
    }

    @Test func directoryDecisions() {
        let d = "/tmp/c"
        #expect(DirectoryDecision.decide(.init(exists: false), directory: d, force: false) == .create)
        #expect(DirectoryDecision.decide(.init(exists: true, entries: []), directory: d, force: false) == .create)
        guard case .refuse(let running) = DirectoryDecision.decide(
            .init(exists: true, entries: ["cluster.json"], hasState: true, runningNodes: ["matsue"]), directory: d, force: true) else {
            Issue.record("a running cluster was not refused, even with --force")
            return
        }
        #expect(running.contains("running") && running.contains("matsue") && running.contains("cluster down"))
        guard case .refuse(let stranger) = DirectoryDecision.decide(.init(exists: true, entries: ["thesis.tex"]), directory: d, force: true) else {
            Issue.record("--force would have deleted a directory that is not a cluster")
            return
        }
        #expect(stranger.contains("holds no cluster"))
        guard case .refuse(let stopped) = DirectoryDecision.decide(
            .init(exists: true, entries: ["cluster.json", "nodes"], hasState: true), directory: d, force: false) else {
            Issue.record("a stopped cluster was replaced without --force")
            return
        }
        #expect(stopped.contains("--force"))
        #expect(DirectoryDecision.decide(.init(exists: true, entries: ["nodes", "cluster.json"], hasState: true), directory: d, force: true)
                == .replace(removing: ["cluster.json", "nodes"]))
    }

    @Test func samplesAreSpreadDistinctAndDeterministic() throws {
        #expect(ClusterSample.indices(count: 4, population: 10) == [0, 2, 5, 7])
        #expect(ClusterSample.indices(count: 20, population: 3) == [0, 1, 2])
        #expect(ClusterSample.indices(count: 0, population: 3) == [])
        let a = try ClusterSample.individualNumbers(code: "322024", in: spec, count: 2)
        let b = try ClusterSample.individualNumbers(code: "322024", in: spec, count: 2)
        #expect(a == b)
        #expect(Set(a.map(\.digits)).count == 2)
        #expect(try ClusterSample.individualNumbers(code: "322067", in: spec, count: 2) != a)
        #expect(throws: ClusterError.self) { try ClusterSample.individualNumbers(code: "322032", in: spec, count: 1) }
    }

    @Test func stopReportsSayHowANodeStopped() {
        let clean = NodeExit(status: 0, endedAt: "t")
        #expect(StopReport(name: "a", pid: 1, outcome: .stopped(clean), seconds: 0.4).summary == "exited 0, graceful shutdown after SIGTERM (0.4 s)")
        #expect(StopReport(name: "a", pid: 1, outcome: .killed(NodeExit(signal: SIGKILL, endedAt: "t")), seconds: 15).summary
                .contains("sent SIGKILL: killed by SIGKILL"))
        #expect(StopReport(name: "a", pid: 1, outcome: .notRunning(clean), seconds: 0).summary == "was not running (last run exited 0)")
    }
}
