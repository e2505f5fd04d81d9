import ArgumentParser
import Foundation
import RenkeiAudit
import RenkeiCore
import RenkeiCrypto
import RenkeiPeer
import RenkeiTenantStore
import RenkeiWire

// Tenant data-key rotation (issue 7, item 3): `renkei key rotate-tenant` and
// `renkei key status`.

extension Renkei_Admin_V1_KeyRotateTenantRequest: SessionCarrying {}
extension Renkei_Admin_V1_KeyStatusRequest: SessionCarrying {}

struct KeyRotateTenant: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-tenant",
        abstract: "Start a new data key version for a municipality; older records are re-encrypted in the background.",
        discussion: """
        New records are sealed with the new version at once. Older records stay readable (the \
        keyring keeps every version) and the running node re-seals them in the background, \
        resuming after a restart; follow it with `renkei key status`. Index keys (blind indexes) \
        are not rotated. Old versions stay in the keyring: older vault snapshots and recovery kits \
        need them. A recovery kit made before the rotation lacks the new key: make a new one \
        (`renkei tenant recovery-kit`) once the rotation is done.

        With --node (a running node; administrator): --code must repeat the view's municipality. \
        With --data (a stopped node): rotates, then re-encrypts in the foreground with a progress \
        display; an interrupted run is finished by the next one or by the node when it starts.
        """)

    @OptionGroup var target: NodeOrViewOptions
    @Option(help: "The municipality code whose data key to rotate (with --node: the view's, to confirm).")
    var code: String
    @Option(help: "With --data: records re-sealed per step (1-10000).")
    var batchRecords = 500
    @Option(help: "With --data: progress display: auto, lines or none.")
    var progress: ProgressMode = .auto

    func validate() throws {
        if target.node != nil, target.data != nil { throw ValidationError("--node: give either --node or --data, not both") }
        if target.node == nil, target.data == nil {
            throw ValidationError("--node: say where: --node DIR (a running node), or --data DIR (a stopped node)")
        }
        guard (1...TenantPartition.maxBatchRows).contains(batchRecords) else {
            throw ValidationError("--batch-records: must be 1 to \(TenantPartition.maxBatchRows)")
        }
    }

    func run() async throws {
        try await reportingFailuresAsync {
            let municipality = try municipalityCode(code)
            if let view = target.node {
                let target = try ViewTarget(view)
                guard target.acting == municipality else {
                    throw CLIFailure("--code: the view at \(view) acts as \(target.acting), not \(municipality); nothing was rotated",
                                     exitCode: .validationFailure)
                }
                var request = Renkei_Admin_V1_KeyRotateTenantRequest()
                request.actingCode = municipality.rawValue
                let answer = try await target.call(request) { client, call in
                    try await Renkei_Admin_V1_TenantKeys.Client(wrapping: client).keyRotateTenant(call)
                }
                print("municipality \(municipality): data key version \(answer.newVersion) is current (was \(answer.previousVersion)); keyring \(answer.keyringFingerprint)")
                print("the node re-encrypts older records in the background; follow it with: renkei key status --node \(view)")
                print("then make a new recovery kit: the existing one lacks data key version \(answer.newVersion)")
                return
            }
            try rotateOffline(municipality)
        }
    }

    private func rotateOffline(_ municipality: MunicipalityCode) throws {
        let store = try target.offline.openStore()
        let rotation: DataKeyRotation
        do throws(NodeError) {
            rotation = try store.rotateTenantDataKey(municipality)
        } catch {
            throw CLIFailure(error.description, exitCode: error.code == .tenantNotFound ? CLIFailure.notFound : .failure)
        }
        var entry = AuditRecord(event: .dataKeyRotated, outcome: .ok,
                                detail: "from-version=\(rotation.previousVersion) to-version=\(rotation.newVersion) keyring=\(rotation.keyringFingerprint) via=data-directory")
        entry.terminal = currentTerminal(nil)
        do {
            _ = try store.auditLog(municipality).append(entry)
        } catch {
            throw CLIFailure("the data key was rotated, but the operation log could not record it: \(error)")
        }
        print("municipality \(municipality): data key version \(rotation.newVersion) is current (was \(rotation.previousVersion)); keyring \(rotation.keyringFingerprint)")
        try reencryptInForeground(store: store, code: municipality, batchRecords: batchRecords, progress: progress)
        print("make a new recovery kit: the existing one lacks data key version \(rotation.newVersion)")
    }
}

/// Runs a tenant's pending re-encryption to its end, showing progress.
func reencryptInForeground(store: NodeStore, code: MunicipalityCode, batchRecords: Int, progress mode: ProgressMode) throws {
    let status: TenantKeyStatus
    do throws(NodeError) { status = try store.keyStatus(code) } catch { throw CLIFailure(error.description) }
    let display = ProgressDisplay(mode: mode)
    var done = 0
    while true {
        let step: ReencryptionStep
        do throws(NodeError) {
            step = try store.reencryptStep(code, maxRecords: batchRecords)
        } catch {
            display.finish()
            throw CLIFailure("re-encryption stopped after \(done) records: \(error.description); run the command again (or start the node) to finish it")
        }
        done += step.resealed
        display.update(phase: "re-encrypting", done: done, total: status.recordsRemaining, unit: "records", force: step.finished)
        if step.finished { break }
    }
    display.finish()
    print("re-encrypted \(done) records; every record of \(code) is at data key version \(status.currentVersion)")
}

struct KeyStatus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a municipality's data key versions, records per version and re-encryption progress.",
        discussion: """
        Records are counted per version from their envelope headers; nothing is decrypted. With \
        --recovery-kit FILE, also says whether that kit holds the current keyring (its fingerprint \
        matches); a kit made before the last rotation cannot open records sealed since. \
        Administrator or auditor with --node; with --data (a stopped node) give --code, and \
        --finish runs an unfinished re-encryption to its end in the foreground.
        """)

    @OptionGroup var target: NodeOrViewOptions
    @Option(help: "With --data: the municipality code.")
    var code: String?
    @Option(help: ArgumentHelp("A recovery kit to compare with the current keyring.", valueName: "file"))
    var recoveryKit: String?
    @Flag(help: "With --data: finish an unfinished re-encryption in the foreground.")
    var finish = false
    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        try target.check(code: code)
        if finish, target.data == nil { throw ValidationError("--finish: only with --data (a running node finishes on its own)") }
    }

    func run() async throws {
        try await reportingFailuresAsync {
            let status: Renkei_Admin_V1_KeyStatusResponse
            if let view = target.node {
                let target = try ViewTarget(view)
                var request = Renkei_Admin_V1_KeyStatusRequest()
                request.actingCode = target.acting.rawValue
                status = try await target.call(request) { client, call in
                    try await Renkei_Admin_V1_TenantKeys.Client(wrapping: client).keyStatus(call)
                }
            } else {
                let municipality = try municipalityCode(code ?? "")
                let store = try target.offline.openStore()
                if finish {
                    try reencryptInForeground(store: store, code: municipality, batchRecords: 500, progress: json ? .none : .auto)
                }
                do throws(NodeError) {
                    status = KeyService.response(try store.keyStatus(municipality))
                } catch {
                    throw CLIFailure(error.description, exitCode: error.code == .tenantNotFound ? CLIFailure.notFound : .failure)
                }
            }
            let kitFingerprint = try recoveryKit.map { path -> String in
                do {
                    return try RecoveryKit.load(fromPath: path).keyringFingerprint
                } catch {
                    throw CLIFailure("--recovery-kit: cannot read \(path): \(error)", exitCode: .validationFailure)
                }
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print(String(decoding: try encoder.encode(KeyStatusJSON(status, kitFingerprint: kitFingerprint)), as: UTF8.self))
                return
            }
            print(Self.report(status, kitFingerprint: kitFingerprint))
        }
    }

    /// The human-readable status.
    static func report(_ s: Renkei_Admin_V1_KeyStatusResponse, kitFingerprint: String?) -> String {
        let perVersion = s.records.map { "v\($0.version): \($0.records)" }.joined(separator: ", ")
        var lines = [
            "municipality          \(s.code)",
            "current version       \(s.currentVersion)",
            "versions held         \(s.versionsHeld.map(String.init).joined(separator: ", "))",
            "records per version   \(perVersion.isEmpty ? "none" : perVersion)",
        ]
        if s.reencryptionPending {
            let done = s.recordsResealed
            let total = done + s.recordsRemaining
            let percent = total == 0 ? 100 : Int(Double(done) * 100 / Double(total))
            lines.append("re-encryption         in progress since \(s.rotationStartedAt): \(done) re-sealed, \(s.recordsRemaining) to go (\(percent)%)")
        } else if s.recordsRemaining > 0 {
            lines.append("re-encryption         not running, but \(s.recordsRemaining) records are below version \(s.currentVersion)")
        } else {
            lines.append("re-encryption         done: all \(s.recordsTotal) records at version \(s.currentVersion)")
        }
        lines.append("keyring fingerprint   \(s.keyringFingerprint)")
        if let kitFingerprint {
            lines.append(kitFingerprint == s.keyringFingerprint
                ? "recovery kit          matches the current keyring"
                : "recovery kit          OUTDATED (keyring \(kitFingerprint)): it lacks newer data keys; make a new one with renkei tenant recovery-kit")
        } else if s.versionsHeld.count > 1 {
            lines.append("recovery kit          a kit made before version \(s.currentVersion) lacks it: make a new one (renkei tenant recovery-kit) and check it with --recovery-kit FILE")
        }
        return lines.joined(separator: "\n")
    }
}

/// `key status --json`: every field present (zeros too), numbers as numbers.
struct KeyStatusJSON: Encodable {
    let code: String
    let currentVersion: UInt32
    let versionsHeld: [UInt32]
    /// Version (as text, a JSON key) → records.
    let recordsByVersion: [String: UInt64]
    let recordsRemaining: UInt64
    let recordsTotal: UInt64
    let reencryptionPending: Bool
    let recordsResealed: UInt64
    let rotationStartedAt: String?
    let keyringFingerprint: String
    /// Whether --recovery-kit holds the current keyring; absent without it.
    let recoveryKitMatches: Bool?

    init(_ s: Renkei_Admin_V1_KeyStatusResponse, kitFingerprint: String?) {
        code = s.code
        currentVersion = s.currentVersion
        versionsHeld = s.versionsHeld
        recordsByVersion = Dictionary(uniqueKeysWithValues: s.records.map { (String($0.version), $0.records) })
        recordsRemaining = s.recordsRemaining
        recordsTotal = s.recordsTotal
        reencryptionPending = s.reencryptionPending
        recordsResealed = s.recordsResealed
        rotationStartedAt = s.rotationStartedAt.isEmpty ? nil : s.rotationStartedAt
        keyringFingerprint = s.keyringFingerprint
        recoveryKitMatches = kitFingerprint.map { $0 == s.keyringFingerprint }
    }
}
