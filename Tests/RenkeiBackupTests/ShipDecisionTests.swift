import RenkeiBackup
import Testing

@Suite struct ShipDecisionTests {
    typealias I = ShipDecision.Input

    static let table: [(I, String)] = [
        (I(vaultLast: 0, vaultHasSnapshot: false, nodeLast: 0, firstRetained: nil, needsSnapshot: false), "snapshot"),
        (I(vaultLast: 5, vaultHasSnapshot: true, nodeLast: 5, firstRetained: nil, needsSnapshot: false), "idle"),
        (I(vaultLast: 5, vaultHasSnapshot: true, nodeLast: 5, firstRetained: 3, needsSnapshot: false), "idle"),
        (I(vaultLast: 5, vaultHasSnapshot: true, nodeLast: 9, firstRetained: 6, needsSnapshot: false), "send 5"),
        (I(vaultLast: 5, vaultHasSnapshot: true, nodeLast: 9, firstRetained: 1, needsSnapshot: false), "send 5"),
        (I(vaultLast: 5, vaultHasSnapshot: true, nodeLast: 9, firstRetained: 7, needsSnapshot: false), "snapshot"),
        (I(vaultLast: 5, vaultHasSnapshot: true, nodeLast: 9, firstRetained: nil, needsSnapshot: false), "snapshot"),
        (I(vaultLast: 5, vaultHasSnapshot: true, nodeLast: 9, firstRetained: 6, needsSnapshot: true), "snapshot"),
        (I(vaultLast: 9, vaultHasSnapshot: true, nodeLast: 5, firstRetained: 1, needsSnapshot: false), "conflict"),
        (I(vaultLast: 0, vaultHasSnapshot: false, nodeLast: 4, firstRetained: 1, needsSnapshot: false), "snapshot"),
    ]

    @Test(arguments: table)
    func decides(_ input: I, _ expected: String) {
        let got: String = switch ShipDecision.decide(input) {
        case .idle: "idle"
        case .send(let after): "send \(after)"
        case .takeSnapshot: "snapshot"
        case .conflict: "conflict"
        }
        #expect(got == expected)
    }

    @Test func holdBackAndDiscardAndBackoff() {
        #expect(!ShipDecision.mustDropBacklog(changeLogBytes: 100, holdBackBytesMax: 100))
        #expect(ShipDecision.mustDropBacklog(changeLogBytes: 101, holdBackBytesMax: 100))
        #expect(ShipDecision.discardThrough(ack: 5, nodeLast: 9, firstRetained: 3) == 5)
        #expect(ShipDecision.discardThrough(ack: 2, nodeLast: 9, firstRetained: 3) == nil)
        #expect(ShipDecision.discardThrough(ack: 5, nodeLast: 9, firstRetained: nil) == nil)
        #expect(ShipDecision.reconnectDelay(attempt: 0, minSeconds: 0.5, maxSeconds: 30) == 0.5)
        #expect(ShipDecision.reconnectDelay(attempt: 3, minSeconds: 0.5, maxSeconds: 30) == 4)
        #expect(ShipDecision.reconnectDelay(attempt: 100, minSeconds: 0.5, maxSeconds: 30) == 30)
    }
}

@Suite struct VaultSettingsTests {
    @Test func defaultsForMissingKeys() throws {
        let json = #"{"host": "vault.example", "port": 7600}"#
        let s = try JSONDecoder().decode(VaultSettings.self, from: Data(json.utf8))
        #expect(s == VaultSettings(host: "vault.example", port: 7600))
        #expect(s.mode == .async)
        #expect(s.snapshotIntervalMinutes == 60)
        try s.validate()
    }

    @Test func validationNamesTheField() {
        var s = VaultSettings(host: "v", port: 1)
        s.shipBatchRecords = 1_001
        #expect(throws: BackupError.self) { try s.validate() }
        do { try s.validate() } catch { #expect(error.message.contains("vault.shipBatchRecords")) }
        s = VaultSettings(host: "v", port: 0)
        do { try s.validate() } catch { #expect(error.message.contains("vault.port")) }
        s = VaultSettings(host: "v", port: 1, holdBackBytesMax: 10)
        do { try s.validate() } catch { #expect(error.message.contains("vault.holdBackBytesMax")) }
    }
}

import Foundation
