import ArgumentParser
import Foundation
import Logging
import RenkeiCore
import RenkeiObservability
import RenkeiTenantStore

/// Options every command that opens a node shares.
struct NodeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The node data directory.", valueName: "dir"))
    var data: String

    @Option(name: .long, help: ArgumentHelp(
        "The node master key file, if not DATA/master.key. RENKEI_MASTER_KEY (64 hex characters) takes precedence.",
        valueName: "path"))
    var masterKeyFile: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    var masterKeySource: MasterKeySource {
        if let hex = ProcessInfo.processInfo.environment["RENKEI_MASTER_KEY"], !hex.isEmpty { return .hex(hex) }
        if let masterKeyFile { return .file(masterKeyFile) }
        return .dataDirectory
    }

    func logger() -> Logger {
        CLILogging.bootstrap(level: logLevel)
        return Logger(label: "renkei")
    }

    func openStore() throws -> NodeStore {
        do throws(NodeError) {
            return try NodeStore.open(NodeDirectory(data), options: NodeStoreOptions(masterKey: masterKeySource), logger: logger())
        } catch {
            throw CLIFailure(error.description)
        }
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Only `main` bootstraps logging: plain lines on stderr.
enum CLILogging {
    // Written once, by the main thread, before any concurrent work starts.
    nonisolated(unsafe) private static var done = false

    static func bootstrap(level: Logger.Level, format: LogFormat = .text) {
        guard !done else { return }
        done = true
        switch format {
        case .text:
            LoggingSystem.bootstrap { label in
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        case .json:
            LoggingSystem.bootstrap { label in JSONLogHandler.standardError(label: label, level: level) }
        }
    }
}

/// How a long-running process writes its log on standard error.
enum LogFormat: String, ExpressibleByArgument, CaseIterable {
    /// Plain lines for a terminal.
    case text
    /// One JSON object per line, for journald and log shippers.
    case json
}

/// The Individual Number from `--number`, or read from standard input
/// (prompting on a terminal) so it stays out of the shell history; its check
/// digit is checked here, so a bad number is never used or sent.
func individualNumber(_ given: String?, option: String = "--number") throws -> IndividualNumber {
    if given == nil, isatty(STDIN_FILENO) == 1 {
        FileHandle.standardError.write(Data("個人番号: ".utf8))
    }
    let text = given ?? (readLine(strippingNewline: true) ?? "")
    do throws(RenkeiCore.ValidationError) {
        return try IndividualNumber(text.trimmingCharacters(in: .whitespaces))
    } catch {
        throw CLIFailure("\(option): \(error.message)", exitCode: .validationFailure)
    }
}

/// Parses a municipality code argument with a message naming the option.
func municipalityCode(_ text: String, option: String = "--code") throws -> MunicipalityCode {
    do throws(RenkeiCore.ValidationError) {
        return try MunicipalityCode(text)
    } catch {
        throw ValidationError("\(option): not a valid municipality code: \(error.message)")
    }
}

/// A command failed: print the message, exit with the code.
struct CLIFailure: Error, CustomStringConvertible {
    let message: String
    let exitCode: ExitCode
    init(_ message: String, exitCode: ExitCode = .failure) {
        self.message = message
        self.exitCode = exitCode
    }
    var description: String { message }

    static let notFound = ExitCode(3)
    static let rejected = ExitCode(2)
}

extension ParsableCommand {
    /// Runs `body`, turning a `CLIFailure` into a message on stderr and its exit code.
    func reportingFailures(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let failure as CLIFailure {
            FileHandle.standardError.write(Data("error: \(failure.message)\n".utf8))
            throw failure.exitCode
        }
    }
}

/// Options of a command that works on a running node through an operator
/// view (`--node DIR`, with the operator's login session) or on a stopped
/// node's data directory (`--data DIR`, needing the master key).
struct NodeOrViewOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The operator view of a running node (a directory with operator.json); acts as its municipality with your login session.",
                               valueName: "dir"))
    var node: String?

    @Option(name: .long, help: ArgumentHelp("Instead of --node: the data directory of a stopped node.", valueName: "dir"))
    var data: String?

    @Option(name: .long, help: ArgumentHelp(
        "With --data: the node master key file, if not DATA/master.key. RENKEI_MASTER_KEY (64 hex characters) takes precedence.",
        valueName: "path"))
    var masterKeyFile: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    /// Exactly one of --node and --data; `code` (the command's --code) goes with --data only.
    func check(code: String?) throws {
        switch (node, data) {
        case (.some, nil):
            if code != nil { throw ValidationError("--code: with --node the view names the municipality; leave --code out") }
        case (nil, .some):
            if code == nil { throw ValidationError("--code: --data needs --code, the municipality") }
        case (.some, .some): throw ValidationError("--node: give either --node or --data, not both")
        case (nil, nil): throw ValidationError("--node: say where: --node DIR (a running node), or --data DIR --code CODE (a stopped node)")
        }
    }

    /// The same options as `NodeOptions`, for the offline path.
    var offline: NodeOptions {
        var options = NodeOptions()
        options.data = data ?? ""
        options.masterKeyFile = masterKeyFile
        options.logLevel = logLevel
        return options
    }
}
