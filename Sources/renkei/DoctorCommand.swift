import ArgumentParser
import Foundation
import Logging
import RenkeiPeer

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a node's setup and say what to fix.",
        discussion: """
        Reads the node configuration (--config FILE, or the node of the operator view --node DIR) and \
        checks, without opening the store (so it runs beside a running node): the data directory, \
        master key and private key are private (0700/0600); the node certificate is valid, issued by \
        the federation CA, not revoked, a node certificate carrying codes, and not within 30 days of \
        expiry; the CA certificate's expiry; the signed directory verifies, is not about to expire, and \
        lists this node's key for every code it carries; free disk space; the admin socket; the vault \
        accepts connections; the clock agrees with the other nodes' (each asked through Health over \
        mutual TLS: warn beyond 2 s, fail beyond 30 s). Each line is ok, warn or fail, with what to do.

        Exit codes: 0 nothing failed (warnings allowed), 1 a check failed, 64 an invalid option.
        """)

    @Option(help: ArgumentHelp("The node configuration file.", valueName: "file"))
    var config: String?
    @Option(help: ArgumentHelp("Instead of --config: an operator view of the node.", valueName: "dir"))
    var node: String?
    @Flag(help: "Print JSON instead of text.")
    var json = false

    func validate() throws {
        guard (config == nil) != (node == nil) else { throw ValidationError("--config: give either --config FILE or --node DIR") }
    }

    func run() async throws {
        try await reportingFailuresAsync {
            CLILogging.bootstrap(level: .error)
            let nodeConfig = try node.map { try operatorView($0).config } ?? loadNodeConfig(config!)
            let findings = await NodeDoctor(config: nodeConfig).run(logger: Logger(label: "renkei.doctor"))
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                print(String(decoding: try encoder.encode(findings), as: UTF8.self))
            } else {
                for f in findings {
                    print("\(f.status.rawValue.uppercased().padding(toLength: 5, withPad: " ", startingAt: 0)) \(f.check): \(f.detail)")
                    if let fix = f.fix, f.status != .ok { print("      fix: \(fix)") }
                }
            }
            let failed = findings.filter { $0.status == .fail }.count
            let warned = findings.filter { $0.status == .warn }.count
            if failed > 0 {
                throw CLIFailure("\(failed) check(s) failed, \(warned) warning(s)")
            }
            if !json { print("\(findings.count) checks: nothing failed, \(warned) warning(s)") }
        }
    }
}
