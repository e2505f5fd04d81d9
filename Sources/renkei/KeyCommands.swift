import ArgumentParser
import Foundation
import Logging
import RenkeiTenantStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `renkei key …`: the node's keys. One subcommand per line below.
struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Rotate the node's keys and show their state.",
        subcommands: [
            KeyRotateMaster.self,
            KeyRotateTenant.self,
            KeyStatus.self,
        ])
}

struct KeyRotateMaster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-master",
        abstract: "Replace a stopped node's master key, re-wrapping every tenant keyring under a new one.",
        discussion: """
        The node must be stopped: the command takes the database lock and fails if the node runs. \
        Steps: (1) a new key is made at KEY.next; (2) every tenant keyring is re-wrapped under it, \
        together with the root of the audit and account keys (DATA/keys/derivation-root.sealed), so \
        audit logs keep verifying and operator accounts keep opening; (3) node.json names the new \
        fingerprint; (4) the old key file is overwritten with zeros and KEY.next renamed over it, and \
        every municipality's operation log records master-key-rotated with both fingerprints.

        Each step is safe to interrupt (a crash, a kill, a power cut): until the rotation finishes, the \
        node and every tool refuse to open it, and running this command again finishes the rotation. \
        The old key is not kept: restores use recovery kits, never an old master key (ADR 0011). Back up \
        the new key file right after. A key given in RENKEI_MASTER_KEY cannot be rotated by this command \
        (it cannot rewrite an environment variable): move the key into a file first.

        Prints the old and new fingerprints and progress; never key material.
        """)

    @Option(name: .long, help: ArgumentHelp("The node data directory.", valueName: "dir"))
    var data: String

    @Option(name: .long, help: ArgumentHelp("The node master key file, if not DATA/master.key.", valueName: "path"))
    var masterKeyFile: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    func run() throws {
        try reportingFailures {
            if let hex = ProcessInfo.processInfo.environment["RENKEI_MASTER_KEY"], !hex.isEmpty {
                throw CLIFailure(
                    "RENKEI_MASTER_KEY is set: rotate-master cannot rewrite an environment variable. Write the key to a file (mode 0600), unset RENKEI_MASTER_KEY and run again with --master-key-file FILE; then give the node's service the key file instead of the variable",
                    exitCode: .validationFailure)
            }
            CLILogging.bootstrap(level: logLevel)
            let logger = Logger(label: "renkei")
            let rotation = MasterKeyRotation(directory: NodeDirectory(data), keyPath: masterKeyFile)
            // Test-only fault injection (KeyRotateMasterCommandTests): "N"
            // dies right after step N, "2.K" right after the K-th keyring of
            // step 2, by SIGKILL, as a crash would. Never set it in production.
            let killAt = ProcessInfo.processInfo.environment["RENKEI_TEST_KILL_AT_STEP"]
            func dieIf(_ point: String) {
                guard killAt == point else { return }
                fflush(nil)
                kill(getpid(), SIGKILL)
            }
            let report: MasterKeyRotation.Report
            do throws(NodeError) {
                report = try rotation.run(logger: logger) { event in
                    switch event {
                    case .keys(let old, let new, let resumed):
                        if resumed { print("finishing an interrupted master key rotation") }
                        print("old master key: \(old)")
                        print("new master key: \(new)")
                    case .rewrapped(let done, let total):
                        print("tenants re-wrapped \(done)/\(total)")
                        dieIf("2.\(done)")
                    case .stepDone(let step):
                        print("step \(step.rawValue)/\(MasterKeyRotation.Step.allCases.count) done: \(step)")
                        dieIf("\(step.rawValue)")
                    }
                    fflush(nil)
                }
            } catch {
                throw CLIFailure(error.description, exitCode: error.code == .invalidArgument ? .validationFailure : .failure)
            }
            let keyPath = masterKeyFile ?? NodeDirectory(data).defaultMasterKeyPath
            print("master key rotated: \(report.oldFingerprint) -> \(report.newFingerprint)")
            print("  keyrings: \(report.keyrings) (\(report.keyringsRewrapped) re-wrapped by this run)")
            print("  operation logs recorded: \(report.auditLogsRecorded)")
            print("  the new key is in \(keyPath); the old key file was overwritten. Back up the new key now and destroy any copy of the old one")
        }
    }
}
