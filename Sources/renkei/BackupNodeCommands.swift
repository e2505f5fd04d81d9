import ArgumentParser
import Foundation
import RenkeiBackup
import RenkeiPeer
import RenkeiWire

// `renkei backup now` and `renkei backup status`: operator commands against
// a running node's backup, over its admin socket. Registered in the
// `backup` command group (BackupCommands.swift).

/// `renkei backup now --node DIR`: a base snapshot of the node, now.
struct BackupNowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "now",
        abstract: "Take a base snapshot of the running node and send it to its vault.",
        discussion: """
        Asks the node of the operator view --node DIR (over its admin socket) to checkpoint its \
        database and send the snapshot (RocksDB files, wrapped key files, node.json; never the \
        master key) to the vault; files the vault already holds unchanged are linked there, not \
        sent again. Returns once the vault has committed the snapshot. The node must be running \
        with a vault section in its configuration.

        Exit codes: 0 committed, 1 the node or the vault failed (the message says why), 64 an \
        invalid option value.
        """)

    @Option(help: ArgumentHelp("The operator view of the node (a directory with operator.json).", valueName: "dir"))
    var node: String

    func run() async throws {
        try await reportingFailuresAsync {
            let (config, acting) = try operatorView(node)
            var request = Renkei_Admin_V1_BackupNowRequest()
            request.actingCode = acting.rawValue
            let sent = request
            let response: Renkei_Admin_V1_BackupNowResponse
            do throws(PeerError) {
                response = try await withOperatorSession(view: node, socket: config.adminSocket, sent) { signed throws(PeerError) in
                    try await AdminClient.withAdmin(socket: config.adminSocket) { try await $0.backupNow(signed) }
                }
            } catch {
                throw CLIFailure(error)
            }
            print("snapshot \(response.snapshotID) committed: covers change \(response.coversSeq), "
                  + "\(response.files) files, \(response.sentFiles) sent (\(response.sentBytes) bytes), "
                  + "\(response.files - min(response.files, response.sentFiles)) unchanged and linked")
        }
    }
}

/// `renkei backup status --node DIR [--json]`: the node's shipping state.
struct BackupStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the running node's backup state: shipping, lag, last snapshot.",
        discussion: """
        Asks the node of the operator view --node DIR over its admin socket. Shows the mode \
        (async or sync), whether the vault is reachable (and since when not), the last change, \
        shipped and acknowledged sequence numbers, the replication lag in seconds and bytes held \
        back (against the hold-back limit), whether a base snapshot must go first, and the last \
        snapshot's id and age. --json prints the same as one JSON object.
        """)

    @Option(help: ArgumentHelp("The operator view of the node (a directory with operator.json).", valueName: "dir"))
    var node: String

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        try await reportingFailuresAsync {
            let (config, acting) = try operatorView(node)
            var request = Renkei_Admin_V1_BackupStatusRequest()
            request.actingCode = acting.rawValue
            let sent = request
            let r: Renkei_Admin_V1_BackupStatusResponse
            do throws(PeerError) {
                r = try await withOperatorSession(view: node, socket: config.adminSocket, sent) { signed throws(PeerError) in
                    try await AdminClient.withAdmin(socket: config.adminSocket) { try await $0.backupStatus(signed) }
                }
            } catch {
                throw CLIFailure(error)
            }
            let status = BackupStatus(
                mode: VaultSettings.Mode(rawValue: r.mode) ?? .async, vault: r.vault, vaultReachable: r.vaultReachable,
                unreachableSinceUnixMillis: r.unreachableSinceUnixMillis == 0 ? nil : r.unreachableSinceUnixMillis,
                lastError: r.lastError.isEmpty ? nil : r.lastError, lastChangeSeq: r.lastChangeSeq,
                lastShippedSeq: r.lastShippedSeq, lastAckedSeq: r.lastAckedSeq, lagSeconds: r.lagSeconds,
                lagBytes: Int(clamping: r.lagBytes), holdBackBytesMax: Int(clamping: r.holdBackBytesMax),
                needsSnapshot: r.needsSnapshot, backlogDrops: Int(r.backlogDrops),
                lastSnapshotID: r.lastSnapshotID.isEmpty ? nil : r.lastSnapshotID,
                lastSnapshotCoversSeq: r.lastSnapshotID.isEmpty ? nil : r.lastSnapshotCoversSeq,
                lastSnapshotAgeSeconds: r.lastSnapshotAgeSeconds < 0 ? nil : r.lastSnapshotAgeSeconds)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(status), as: UTF8.self))
                return
            }
            print(Self.render(status))
        }
    }

    static func render(_ s: BackupStatus) -> String {
        func seconds(_ v: Double) -> String { String(format: "%.1f s", v) }
        var lines = [
            "vault:            \(s.vault) (\(s.mode.rawValue))",
            "reachable:        " + (s.vaultReachable ? "yes" : "no"
                + (s.unreachableSinceUnixMillis.map { " since " + Date(timeIntervalSince1970: Double($0) / 1000).ISO8601Format() } ?? "")),
            "last change:      \(s.lastChangeSeq)",
            "last shipped:     \(s.lastShippedSeq)",
            "last acknowledged: \(s.lastAckedSeq)",
            "lag:              \(seconds(s.lagSeconds)), \(s.lagBytes) bytes held back (limit \(s.holdBackBytesMax))",
            "last snapshot:    " + (s.lastSnapshotID.map { "\($0), covers \(s.lastSnapshotCoversSeq ?? 0), \(seconds(s.lastSnapshotAgeSeconds ?? 0)) old" } ?? "none"),
        ]
        if s.needsSnapshot { lines.append("needs snapshot:   yes (the backlog was dropped \(s.backlogDrops)× at the hold-back limit)") }
        if let e = s.lastError, !s.vaultReachable { lines.append("last error:       \(e)") }
        return lines.joined(separator: "\n")
    }
}
