import Foundation
import Logging
import RenkeiCore
import RenkeiCrypto
import RenkeiTenantStore
import Testing
@testable import RenkeiCluster

/// `cluster up` leaves a recovery kit and its demo passphrase in each
/// municipality's directory, and they open that municipality's keyring.
@Suite struct ClusterRecoveryKitTests {
    @Test func everyTenantGetsAKitThatOpensWithItsPassphraseFile() throws {
        let base = NSTemporaryDirectory() + "renkei-cluster-kit-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: base) }
        let spec = try ClusterSpec(seed: 3, nodes: [
            .init(name: "hamada-yasugi", port: 17443, municipalities: [.init(code: "322024", residents: 2), .init(code: "322067", residents: 2)]),
        ]).validated()
        let plan = ClusterPlan(spec: spec, baseDirectory: base)
        // Cheap scrypt: this test is about where the files go and that they fit together.
        let builder = ClusterBuilder(plan: plan, recoveryKitParameters: RecoveryKitParameters(costLog2: 4, blockSize: 1, parallelism: 1),
                                     logger: Logger(label: "test"))
        try builder.createPKIAndLayout()
        _ = try builder.loadData()
        let node = NodeDirectory(plan.nodes[0].dataDirectory)
        let master = try NodeStore.loadMasterKey(node, source: .dataDirectory)
        for view in plan.views {
            #expect(view.recoveryKitPath == base + "/" + view.code + "/recovery-kit.json")
            for path in [view.recoveryKitPath, view.recoveryKitPassphrasePath] {
                var st = stat()
                #expect(stat(path, &st) == 0 && st.st_mode & 0o777 == 0o600, "\(path)")
            }
            let passphrase = try String(contentsOfFile: view.recoveryKitPassphrasePath, encoding: .utf8)
                .trimmingCharacters(in: .newlines)
            let kit = try RecoveryKit.load(fromPath: view.recoveryKitPath)
            #expect(kit.tenantCode == view.code)
            let opened = try kit.open(passphrase: passphrase, tenantCode: view.code)
            let live = try TenantKeyring.load(fromPath: node.keyringPath(for: view.code), tenantCode: view.code, master: master)
            #expect(opened.fingerprint == live.fingerprint)
        }
        #expect(ClusterBuilder.demoRecoveryKitParameters.memoryBytes == 16 << 20)
    }
}
