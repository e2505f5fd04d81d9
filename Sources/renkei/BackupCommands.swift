import ArgumentParser
import Foundation
import RenkeiVault

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Backups to a vault: check what a vault holds.",
        subcommands: [BackupNowCommand.self, BackupStatusCommand.self, BackupVerifyCommand.self, BackupDrillCommand.self]
    )
}

struct BackupVerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a vault's data directory offline: every segment and snapshot file, and change continuity.",
        discussion: """
        Reads the vault's files directly (the vault process may be running or not): every \
        change segment is decompressed, its LZ4 checksums and SHA-256 checked and its records \
        read; every snapshot file's size and SHA-256 is checked against its manifest; and the \
        changes must run without a gap from the oldest kept snapshot to the last stored \
        change. Nothing is decrypted — the vault holds no keys.

        Prints a summary per node and every problem found, each naming the file (and the \
        change range). Exit codes: 0 intact, 1 problems found (or the vault is unreadable), \
        3 no such node.
        """)

    @Option(name: .customLong("vault-data"), help: ArgumentHelp("The vault's data directory (dataDirectory of its configuration).", valueName: "dir"))
    var vaultData: String

    @Option(help: ArgumentHelp("Verify only this node's backup.", valueName: "name"))
    var node: String?

    func run() throws {
        try reportingFailures {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: vaultData, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw CLIFailure("--vault-data: \(vaultData) is not a directory", exitCode: .validationFailure)
            }
            let verifier = VaultVerifier(root: vaultData)
            let reports: [VaultNodeReport]
            var vaultProblems: [VaultProblem] = []
            do throws(VaultError) {
                if let node {
                    reports = [try verifier.verify(node: node)]
                } else {
                    let all = try verifier.verifyAll()
                    reports = all.nodes
                    vaultProblems = all.vaultProblems
                }
            } catch {
                switch error.code {
                case .notFound: throw CLIFailure(error.message, exitCode: CLIFailure.notFound)
                case .invalidName: throw CLIFailure("--node: \(error.message)", exitCode: .validationFailure)
                default: throw CLIFailure(error.description)
                }
            }
            for report in reports {
                let state = report.isIntact ? "intact" : "\(report.problems.count) problem(s)"
                print("node \(report.node): \(state) — \(report.segmentsChecked) segments, \(report.recordsChecked) changes, "
                      + "\(report.snapshotsChecked) snapshots (\(report.snapshotFilesChecked) files), \(report.bytesChecked) bytes checked; "
                      + "last change \(report.lastSeq), changes needed from \(report.neededFromSeq)")
            }
            let problems = vaultProblems + reports.flatMap(\.problems)
            if reports.isEmpty && problems.isEmpty {
                print("the vault holds no node's backup")
            }
            guard problems.isEmpty else {
                for problem in problems {
                    FileHandle.standardError.write(Data("problem: \(problem)\n".utf8))
                }
                throw CLIFailure("\(problems.count) problem(s) found in the vault at \(vaultData)")
            }
        }
    }
}
