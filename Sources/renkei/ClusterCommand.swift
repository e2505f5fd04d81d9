import ArgumentParser
import Foundation
import Logging
import RenkeiCluster
import RenkeiPeer

struct ClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cluster",
        abstract: "Run a local cluster of real node processes on loopback from a cluster file.",
        discussion: """
        A cluster file (Cluster/local.json; format in Cluster/README.md) names the nodes, their \
        ports and the municipalities each hosts. `cluster up` makes a throwaway federation CA, node \
        certificates, a signed directory and revocation list, loads generated (synthetic) residents \
        into each node and starts the nodes; DIR/CODE is that municipality's operator view \
        (--node DIR/CODE). `cluster down` stops them; the data stays until --purge. `cluster restart` \
        starts one node or the vault again (after a crash, a kill -9 or maintenance).
        """,
        subcommands: [Up.self, Down.self, Status.self, Restart.self, Sample.self, Supervise.self]
    )

    struct Up: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a cluster from a cluster file and start its nodes.",
            discussion: """
            Refuses a DIR with a running cluster, and a non-empty DIR without a stopped cluster. \
            Residents are generated from the file's seed (the same data `renkei gen --code C \
            --count N --seed S` writes) and go straight into each node's encrypted store: no \
            plaintext file of personal data is written. Progress goes to stderr; the table of \
            municipalities to stdout. If a node does not start, the ones started are stopped again.
            """)

        @Argument(help: ArgumentHelp("The cluster file (JSON), e.g. Cluster/local.json.", valueName: "file"))
        var file: String
        @Option(help: ArgumentHelp("The cluster directory (created if missing).", valueName: "dir"))
        var dir: String
        @Option(help: ArgumentHelp("Node i (in file order) listens on N+i instead of its declared port.", valueName: "N"))
        var portBase: Int?
        @Option(help: ArgumentHelp("Residents per municipality, instead of the file's counts.", valueName: "N"))
        var residents: Int?
        @Option(help: ArgumentHelp("Multiply the file's resident counts by X (at least 1 each).", valueName: "X"))
        var residentsScale: Double?
        @Flag(help: "Replace a stopped cluster already in DIR (never a running one).")
        var force = false
        @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
        var logLevel: Logger.Level = .warning

        func validate() throws {
            if residents != nil && residentsScale != nil { throw ValidationError("give at most one of --residents and --residents-scale") }
            if let residents, !(1...1_000_000).contains(residents) { throw ValidationError("--residents must be between 1 and 1,000,000") }
            if let residentsScale, !(residentsScale > 0 && residentsScale <= 1_000) { throw ValidationError("--residents-scale must be above 0 and at most 1000") }
            if let portBase, !(1...65_535).contains(portBase) { throw ValidationError("--port-base must be between 1 and 65535") }
        }

        func run() async throws {
            try await reportingFailuresAsync {
                CLILogging.bootstrap(level: logLevel)
                let logger = Logger(label: "renkei.cluster")
                let started = ContinuousClock.now
                try await cluster {
                    let declared = try ClusterSpec.load(contentsOf: file)
                    let residentCounts: ClusterOverrides.Residents
                    if let residents { residentCounts = .each(residents) }
                    else if let residentsScale { residentCounts = .scaled(residentsScale) }
                    else { residentCounts = .asDeclared }
                    let overrides = ClusterOverrides(portBase: portBase, residents: residentCounts)
                    let spec = try overrides.apply(to: declared)
                    let base = absolutePath(dir)
                    let plan = ClusterPlan(spec: spec, baseDirectory: base)
                    let runtime = ClusterRuntime(executable: try ownExecutable(), logger: logger)
                    let rows = try await runtime.up(plan, source: absolutePath(file), force: force) { line in
                        FileHandle.standardError.write(Data("cluster: \(line)\n".utf8))
                    }
                    let seconds = (ContinuousClock.now - started) / .seconds(1)
                    print("cluster up in \(base): \(plan.nodes.count) nodes, \(rows.count) municipalities (\(String(format: "%.1f", seconds)) s)")
                    print(Table.render(
                        header: ["CODE", "NAME", "NODE", "ENDPOINT", "RESIDENTS", "VACCINATIONS", "OPERATOR VIEW"],
                        rows: rows.map { [$0.code, $0.name, $0.node, $0.endpoint, String($0.residents), String($0.vaccinations), $0.operatorView] }))
                    print("stop with: renkei cluster down --dir \(base)")
                }
            }
        }
    }

    struct Down: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop the cluster's nodes: SIGTERM, a grace period, then SIGKILL.",
            discussion: """
            Each node finishes its in-flight calls and exits 0; one still running after the grace \
            period is killed, and the output says so. Running it again when nothing runs is fine. \
            The data stays in DIR unless --purge. Exit 1 if a node could not be stopped.
            """)

        @Option(help: ArgumentHelp("The cluster directory.", valueName: "dir"))
        var dir: String
        @Option(help: ArgumentHelp("Seconds to wait after SIGTERM before SIGKILL.", valueName: "seconds"))
        var grace: Int = 15
        @Flag(help: "Remove DIR once every node has stopped.")
        var purge = false

        func validate() throws {
            guard (0...600).contains(grace) else { throw ValidationError("--grace must be between 0 and 600") }
        }

        func run() async throws {
            try await reportingFailuresAsync {
                CLILogging.bootstrap(level: .warning)
                let base = absolutePath(dir)
                try await cluster {
                    let runtime = ClusterRuntime(executable: try ownExecutable(),
                                                 timing: .init(stopGracePeriod: .seconds(grace)),
                                                 logger: Logger(label: "renkei.cluster"))
                    if purge && !FileManager.default.fileExists(atPath: base) {
                        print("nothing is running in \(base); it does not exist")
                        return
                    }
                    // A directory without cluster.json is refused, also with
                    // --purge: it may be anything, and --purge deletes.
                    let vaultName = (try? ClusterState.load(directory: base))?.spec.vault?.name
                    let reports = try await runtime.down(directory: base)
                    let wasRunning = reports.filter { if case .notRunning = $0.outcome { return false } else { return true } }
                    if wasRunning.isEmpty {
                        print("nothing is running in \(base)")
                    }
                    for report in wasRunning {
                        print("\(report.name == vaultName ? "vault" : "node") \(report.name) (pid \(report.pid)): \(report.summary)")
                    }
                    if reports.contains(where: { $0.outcome == .stillRunning }) {
                        throw ClusterError(.stop, "some nodes are still running; nothing was purged")
                    }
                    if purge {
                        do {
                            if FileManager.default.fileExists(atPath: base) { try FileManager.default.removeItem(atPath: base) }
                        } catch {
                            throw ClusterError(.stop, "cannot remove \(base)", cause: SendableText(error.localizedDescription))
                        }
                        print("removed \(base)")
                    }
                }
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show each node: process running, and its answer to renkei.v1.Health/Check over mutual TLS.",
            discussion: "Exit 0 if every node is running and serving, 1 otherwise.")

        @Option(help: ArgumentHelp("The cluster directory.", valueName: "dir"))
        var dir: String

        func run() async throws {
            try await reportingFailuresAsync {
                CLILogging.bootstrap(level: .warning)
                let base = absolutePath(dir)
                var allServing = true
                try await cluster {
                    let runtime = ClusterRuntime(executable: try ownExecutable(), logger: Logger(label: "renkei.cluster"))
                    let nodes = try await runtime.status(directory: base)
                    let rows = nodes.map { node -> [String] in
                        let health: String
                        switch node.health {
                        case .success(let answer)?:
                            health = "\(answer.status) \(answer.protocolVersions.joined(separator: ","))"
                            if !answer.isServing { allServing = false }
                        case .failure(let error)?:
                            health = "FAILED: \(error.message)"
                            allServing = false
                        case nil:
                            health = "-" + (node.lastExit.map { " (last run \($0))" } ?? "")
                            allServing = false
                        }
                        return [node.name, node.endpoint, node.codes.joined(separator: ","),
                                node.pid.map(String.init) ?? "-", node.running ? "running" : "stopped", health]
                    }
                    var table = rows
                    if let vault = try runtime.vaultStatus(directory: base) {
                        let health = vault.listening ? "LISTENING" : "-" + (vault.lastExit.map { " (last run \($0))" } ?? "")
                        if !vault.listening { allServing = false }
                        table.append([vault.name + " (vault)", vault.endpoint, "-", vault.pid.map(String.init) ?? "-", vault.running ? "running" : "stopped", health])
                    }
                    print(Table.render(header: ["NODE", "ENDPOINT", "CODES", "PID", "PROCESS", "HEALTH"], rows: table))
                }
                if !allServing { throw ExitCode.failure }
            }
        }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start one node, or the vault, of the cluster again (stopping it first if it runs).",
            discussion: """
            NAME is a node's name or the vault's (see cluster status). A running process gets \
            SIGTERM, the grace period, then SIGKILL; then a new one is started under its \
            supervisor on the same configuration and data, and the command returns once it serves \
            (a node answers its health check; the vault accepts connections). Use it after a node \
            or the vault crashed or was killed, or after maintenance of the vault's disk. The other \
            processes keep running. Exit 1 if it could not be stopped or did not start.
            """)

        @Option(help: ArgumentHelp("The cluster directory.", valueName: "dir"))
        var dir: String
        @Argument(help: ArgumentHelp("The node or vault to start again.", valueName: "name"))
        var name: String
        @Option(help: ArgumentHelp("Seconds to wait after SIGTERM before SIGKILL.", valueName: "seconds"))
        var grace: Int = 15

        func validate() throws {
            guard (0...600).contains(grace) else { throw ValidationError("--grace must be between 0 and 600") }
        }

        func run() async throws {
            try await reportingFailuresAsync {
                CLILogging.bootstrap(level: .warning)
                let base = absolutePath(dir)
                try await cluster {
                    let runtime = ClusterRuntime(executable: try ownExecutable(),
                                                 timing: .init(stopGracePeriod: .seconds(grace)),
                                                 logger: Logger(label: "renkei.cluster"))
                    let report = try await runtime.restart(directory: base, name: name) { line in
                        FileHandle.standardError.write(Data("cluster: \(line)\n".utf8))
                    }
                    if case .notRunning = report.stopped.outcome {
                        print("\(name): \(report.stopped.summary); started (pid \(report.pid))")
                    } else {
                        print("\(name) (pid \(report.stopped.pid)): \(report.stopped.summary); started again (pid \(report.pid))")
                    }
                }
            }
        }
    }

    struct Sample: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print Individual Numbers of residents the cluster generated for a municipality (synthetic data).",
            discussion: """
            The numbers belong to synthetic residents, regenerated from the seed and counts in \
            DIR/cluster.json (they are not stored anywhere in plaintext). Use them to ask the \
            cluster, e.g. renkei inquire transfer --node DIR/322016 --from 322032 --number N. Any \
            resemblance to a real person's number is chance.
            """)

        @Option(help: ArgumentHelp("The cluster directory.", valueName: "dir"))
        var dir: String
        @Option(help: "The municipality code.")
        var code: String
        @Option(help: "How many numbers (spread over the population).")
        var count: Int = 5

        func validate() throws {
            guard (1...10_000).contains(count) else { throw ValidationError("--count must be between 1 and 10,000") }
        }

        func run() throws {
            try reportingFailures {
                _ = try municipalityCode(code)
                do throws(ClusterError) {
                    let state = try ClusterState.load(directory: absolutePath(dir))
                    for number in try ClusterSample.individualNumbers(code: code, in: state.spec, count: count) {
                        print(number.digits)
                    }
                } catch {
                    throw CLIFailure(error.message, exitCode: error.code == .invalidSpec ? .validationFailure : .failure)
                }
            }
        }
    }

    /// Internal: the parent of one node process (started by `cluster up`).
    struct Supervise: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one node or vault process and record how it ends (used by cluster up).",
            shouldDisplay: false)

        @Option(help: "node or vault.") var command: String = "node"
        @Option var config: String
        @Option var pidFile: String
        @Option var exitFile: String

        func run() throws {
            guard let command = SupervisedProcess.Command(rawValue: command) else {
                throw ValidationError("--command: must be node or vault")
            }
            let status = NodeProcesses.supervise(executable: try ownExecutable(), command: command, config: config,
                                                 pidFile: pidFile, exitFile: exitFile)
            throw ExitCode(status)
        }
    }
}

/// This process's executable: the nodes run the same `renkei`.
private func ownExecutable() throws -> String {
    do {
        return try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    } catch {
        let arg0 = CommandLine.arguments[0]
        guard arg0.contains("/") else { throw CLIFailure("cannot find the renkei executable (/proc/self/exe unreadable)") }
        return absolutePath(arg0)
    }
}

private func absolutePath(_ path: String) -> String {
    URL(fileURLWithPath: path).standardizedFileURL.path
}

/// Runs `body`, turning a `ClusterError` into a `CLIFailure`: a bad cluster
/// file exits 2, everything else 1.
private func cluster(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as ClusterError {
        throw CLIFailure(error.description, exitCode: error.code == .invalidSpec ? CLIFailure.rejected : .failure)
    }
}
