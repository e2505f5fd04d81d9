import Foundation
import Logging

/// What `cluster up` finds in the directory it is given.
public struct DirectoryObservation: Sendable, Equatable {
    /// The directory exists.
    public var exists: Bool
    /// Names of its entries.
    public var entries: [String]
    /// It holds a readable `cluster.json`.
    public var hasState: Bool
    /// Nodes of that state whose processes are still running.
    public var runningNodes: [String]

    public init(exists: Bool, entries: [String] = [], hasState: Bool = false, runningNodes: [String] = []) {
        self.exists = exists
        self.entries = entries
        self.hasState = hasState
        self.runningNodes = runningNodes
    }
}

/// What `cluster up` does with the directory.
public enum DirectoryDecision: Sendable, Equatable {
    /// Missing or empty: create the cluster in it.
    case create
    /// A stopped cluster and `--force`: remove these entries, then create.
    case replace(removing: [String])
    /// Refuse, saying why.
    case refuse(String)

    /// Decides from what is there. Pure.
    ///
    /// A running cluster is never replaced (its nodes hold the data
    /// directories open); a stopped one only with `force`; a non-empty
    /// directory that is not a cluster never, because `--force` deletes.
    public static func decide(_ observed: DirectoryObservation, directory: String, force: Bool) -> DirectoryDecision {
        guard observed.exists, !observed.entries.isEmpty else { return .create }
        if !observed.runningNodes.isEmpty {
            return .refuse("a cluster is running in \(directory) (nodes \(observed.runningNodes.joined(separator: ", "))); stop it first with: renkei cluster down --dir \(directory)")
        }
        guard observed.hasState else {
            return .refuse("\(directory) is not empty and holds no cluster (no \(ClusterState.fileName)); give an empty or new directory")
        }
        guard force else {
            return .refuse("\(directory) already holds a stopped cluster; add --force to replace it, or start it again after `renkei cluster down --dir \(directory) --purge`")
        }
        return .replace(removing: observed.entries.sorted())
    }
}

/// How one node stopped, as `cluster down` reports it.
public struct StopReport: Sendable, Equatable {
    /// What happened.
    public enum Outcome: Sendable, Equatable {
        /// It was not running when `down` started.
        case notRunning(NodeExit?)
        /// It stopped after SIGTERM.
        case stopped(NodeExit?)
        /// It ignored SIGTERM for the grace period and was killed.
        case killed(NodeExit?)
        /// It is still running even after SIGKILL.
        case stillRunning
    }

    /// The node's name.
    public let name: String
    /// Its process id.
    public let pid: Int32
    /// What happened.
    public let outcome: Outcome
    /// Seconds from the first SIGTERM until it was gone.
    public let seconds: Double

    /// One line for the operator.
    public var summary: String {
        switch outcome {
        case .notRunning(let exit):
            return "was not running" + (exit.map { " (last run \($0))" } ?? "")
        case .stopped(let exit):
            let how = exit.map { $0.isClean ? "\($0), graceful shutdown" : "\($0)" } ?? "stopped"
            return "\(how) after SIGTERM (\(String(format: "%.1f", seconds)) s)"
        case .killed(let exit):
            return "did not stop within the grace period; sent SIGKILL: \(exit.map(\.description) ?? "killed")"
        case .stillRunning:
            return "STILL RUNNING after SIGKILL"
        }
    }
}

/// The status of one node.
public struct NodeStatus: Sendable {
    /// The node's name.
    public let name: String
    /// `host:port` of its peer API.
    public let endpoint: String
    /// The municipalities it hosts.
    public let codes: [String]
    /// Its recorded process id, if it was started and not stopped by `down`.
    public let pid: Int32?
    /// Whether that process is running (and is this node).
    public let running: Bool
    /// `SERVING`, or why the check failed; nil when not running.
    public let health: Result<HealthProbe.Answer, ClusterError>?
    /// How the last run ended, when not running.
    public let lastExit: NodeExit?
}

/// One row of `cluster up`'s table.
public struct ClusterRow: Sendable, Equatable {
    /// The municipality code.
    public let code: String
    /// Its name.
    public let name: String
    /// The node hosting it.
    public let node: String
    /// That node's `host:port`.
    public let endpoint: String
    /// Residents loaded.
    public let residents: Int
    /// Vaccination records loaded.
    public let vaccinations: Int
    /// Its operator view directory (`--node`).
    public let operatorView: String
}

/// Brings a planned cluster up, takes it down, reports its status. The I/O
/// around `ClusterPlan`, `DirectoryDecision` and `NodeProcesses`.
public struct ClusterRuntime: Sendable {
    /// Timing of starting and stopping.
    public struct Timing: Sendable {
        /// How long a node may take to answer its first health check.
        public var startTimeout: Duration
        /// How long `down` waits after SIGTERM before SIGKILL.
        public var stopGracePeriod: Duration

        public init(startTimeout: Duration = .seconds(60), stopGracePeriod: Duration = .seconds(15)) {
            self.startTimeout = startTimeout
            self.stopGracePeriod = stopGracePeriod
        }
    }

    /// The `renkei` executable the nodes run (normally this process's own).
    public let executable: String
    /// Timing of starting and stopping.
    public let timing: Timing
    let logger: Logger

    /// A runtime starting nodes from `executable`.
    public init(executable: String, timing: Timing = Timing(), logger: Logger) {
        self.executable = executable
        self.timing = timing
        self.logger = logger
    }

    // MARK: up

    /// Creates the cluster of `plan` and starts its nodes; returns a row per
    /// municipality. `progress` gets human-readable lines.
    ///
    /// On a failure after nodes were started, those nodes are stopped again
    /// (the files stay, for the logs).
    public func up(_ plan: ClusterPlan, source: String, force: Bool,
                   progress: @Sendable (String) -> Void) async throws(ClusterError) -> [ClusterRow] {
        let base = plan.baseDirectory
        // A network namespace that is missing (or no `ip` to enter it) is
        // refused before anything is created.
        for process in plan.nodes.map(\.process) + [plan.vault?.process].compactMap({ $0 }) {
            if let netns = process.netns { _ = try NodeProcesses.netnsExecPrefix(netns, for: process) }
        }
        switch DirectoryDecision.decide(Self.observe(base), directory: base, force: force) {
        case .create: break
        case .refuse(let reason): throw ClusterError(.directoryInUse, reason)
        case .replace(let entries):
            progress("removing the stopped cluster in \(base) (--force)")
            for entry in entries {
                do {
                    try FileManager.default.removeItem(atPath: base + "/" + entry)
                } catch {
                    throw ClusterError(.directoryInUse, "cannot remove \(base)/\(entry)", cause: SendableText(error.localizedDescription))
                }
            }
        }
        do {
            try FileManager.default.createDirectory(atPath: base, withIntermediateDirectories: true)
        } catch {
            throw ClusterError(.setup, "cannot create \(base)", cause: SendableText(error.localizedDescription))
        }
        var state = ClusterState(spec: plan.spec, source: source, createdAt: Date().ISO8601Format())
        try state.write(directory: base)

        progress("creating the federation CA, \(plan.nodes.count) node certificates, the signed directory and revocation list")
        let builder = ClusterBuilder(plan: plan, logger: logger)
        try builder.createPKIAndLayout()
        let loadStarted = ContinuousClock.now
        let reports = try builder.loadData { p in
            if p.residentsDone == p.residentsTotal || p.residentsDone % 5_000 == 0 {
                progress("loading \(p.code) \(p.name) on \(p.nodeName): \(p.residentsDone)/\(p.residentsTotal) residents, \(p.vaccinations) vaccinations")
            }
        }
        progress("loaded \(reports.map(\.residents).reduce(0, +)) residents into \(reports.count) municipalities in \(String(format: "%.1f", (ContinuousClock.now - loadStarted) / .seconds(1))) s")
        progress("exported a recovery kit per municipality to \(base)/CODE/recovery-kit.json (demo only: its throwaway passphrase is beside it in recovery-kit.passphrase)")

        do throws(ClusterError) {
            // The vault first, so the nodes' shippers find it from their start.
            if let vault = plan.vault {
                let supervisor = try NodeProcesses.launch(executable: executable, process: vault.process)
                let pid = try await NodeProcesses.waitForPID(vault.process, supervisor: supervisor)
                state.processes.append(.init(name: vault.spec.name, pid: pid, supervisorPID: supervisor, startedAt: Date().ISO8601Format()))
                try state.write(directory: base)
                progress("started vault \(vault.spec.name) (pid \(pid)) on \(vault.endpoint); log \(vault.process.logPath)")
                try await waitUntilListening(vault, pid: pid)
                progress("vault \(vault.spec.name) is listening; DR operator view in \(vault.viewDirectory)")
            }
            for node in plan.nodes {
                let supervisor = try NodeProcesses.launch(executable: executable, process: node.process)
                let pid = try await NodeProcesses.waitForPID(node.process, supervisor: supervisor)
                state.processes.append(.init(name: node.spec.name, pid: pid, supervisorPID: supervisor, startedAt: Date().ISO8601Format()))
                try state.write(directory: base)
                progress("started node \(node.spec.name) (pid \(pid)) on \(node.endpoint); log \(node.logPath)")
            }
            for node in plan.nodes {
                try await waitUntilServing(node, pid: state.process(of: node.spec.name)!.pid)
                progress("node \(node.spec.name) is serving (renkei.v1.Health/Check over mutual TLS)")
            }
        } catch {
            if !state.processes.isEmpty {
                progress("stopping the nodes that were started")
                for report in await stop(plan: plan, state: &state) {
                    progress("node \(report.name) (pid \(report.pid)): \(report.summary)")
                }
                try? state.write(directory: base)
            }
            throw error
        }
        let counts = Dictionary(uniqueKeysWithValues: reports.map { ($0.code, $0) })
        return plan.views.map { view in
            let node = plan.node(named: view.nodeName)!
            return ClusterRow(code: view.code, name: view.name, node: view.nodeName, endpoint: node.endpoint,
                              residents: counts[view.code]?.residents ?? 0, vaccinations: counts[view.code]?.vaccinations ?? 0,
                              operatorView: view.directory)
        }
    }

    /// What is in `directory`, and which of its nodes still run.
    public static func observe(_ directory: String) -> DirectoryObservation {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            return DirectoryObservation(exists: false)
        }
        guard isDirectory.boolValue else {
            // Not a directory: "not empty, no cluster" refuses it.
            return DirectoryObservation(exists: true, entries: [directory])
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        guard let state = try? ClusterState.load(directory: directory) else {
            return DirectoryObservation(exists: true, entries: entries)
        }
        let plan = ClusterPlan(spec: state.spec, baseDirectory: directory)
        let running = state.processes.filter { p in
            NodeProcesses.isRunning(p.pid, nodeConfig: plan.process(named: p.name)?.configPath)
        }.map(\.name)
        return DirectoryObservation(exists: true, entries: entries, hasState: true, runningNodes: running)
    }

    // MARK: down

    /// Stops every node of the cluster in `directory`: SIGTERM, then up to
    /// the grace period for a graceful exit, then SIGKILL. Idempotent: with
    /// nothing running it returns reports saying so. The data stays.
    public func down(directory: String) async throws(ClusterError) -> [StopReport] {
        var state = try ClusterState.load(directory: directory)
        let plan = ClusterPlan(spec: state.spec, baseDirectory: directory)
        let reports = await stop(plan: plan, state: &state)
        try state.write(directory: directory)
        return reports
    }

    /// Stops the processes recorded in `state` and clears them from it: the
    /// nodes first, then the vault, so that what the nodes ship while they
    /// shut down still reaches it.
    func stop(plan: ClusterPlan, state: inout ClusterState) async -> [StopReport] {
        let vaultName = plan.vault?.spec.name
        var reports = await stop(plan: plan, state: &state) { $0 != vaultName }
        if let vaultName {
            reports += await stop(plan: plan, state: &state) { $0 == vaultName }
        }
        return reports
    }

    /// Stops the recorded processes whose names `selected` accepts.
    func stop(plan: ClusterPlan, state: inout ClusterState, selected: (String) -> Bool) async -> [StopReport] {
        struct Stopping { let node: SupervisedProcess; let pid: Int32 }
        var stopping: [Stopping] = []
        var reports: [String: StopReport] = [:]
        let started = ContinuousClock.now
        for process in state.processes where selected(process.name) {
            guard let node = plan.process(named: process.name) else { continue }
            if NodeProcesses.isRunning(process.pid, nodeConfig: node.configPath) {
                NodeProcesses.send(SIGTERM, to: process.pid)
                stopping.append(Stopping(node: node, pid: process.pid))
            } else {
                reports[node.name] = StopReport(name: node.name, pid: process.pid,
                                                outcome: .notRunning(NodeProcesses.readExit(node)), seconds: 0)
            }
        }
        func running(_ s: Stopping) -> Bool { NodeProcesses.isRunning(s.pid, nodeConfig: s.node.configPath) }
        let deadline = ContinuousClock.now + timing.stopGracePeriod
        while stopping.contains(where: running), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        var killed: Set<String> = []
        for s in stopping where running(s) {
            logger.warning("process did not stop within the grace period; sending SIGKILL", metadata: ["process": "\(s.node.name)"])
            NodeProcesses.send(SIGKILL, to: s.pid)
            killed.insert(s.node.name)
        }
        let killDeadline = ContinuousClock.now + .seconds(5)
        while stopping.contains(where: running), ContinuousClock.now < killDeadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        for s in stopping {
            let seconds = (ContinuousClock.now - started) / .seconds(1)
            if running(s) {
                reports[s.node.name] = StopReport(name: s.node.name, pid: s.pid, outcome: .stillRunning, seconds: seconds)
                continue
            }
            // The supervisor writes node.exit right after reaping the node.
            var exit = NodeProcesses.readExit(s.node)
            let exitDeadline = ContinuousClock.now + .seconds(2)
            while exit == nil, ContinuousClock.now < exitDeadline {
                try? await Task.sleep(for: .milliseconds(20))
                exit = NodeProcesses.readExit(s.node)
            }
            let outcome: StopReport.Outcome = killed.contains(s.node.name) ? .killed(exit) : .stopped(exit)
            reports[s.node.name] = StopReport(name: s.node.name, pid: s.pid, outcome: outcome, seconds: seconds)
        }
        state.processes.removeAll { p in
            guard selected(p.name) else { return false }
            if case .stillRunning = reports[p.name]?.outcome { return false }
            return true
        }
        return (state.spec.nodes.map(\.name) + [state.spec.vault?.name].compactMap { $0 }).compactMap { reports[$0] }
    }

    // MARK: restart

    /// How `restart` went for one process.
    public struct RestartReport: Sendable, Equatable {
        /// The process's name.
        public let name: String
        /// How the previous process was stopped (`.notRunning` if it had ended, e.g. after a kill -9).
        public let stopped: StopReport
        /// The new process id.
        public let pid: Int32
    }

    /// Starts the node or vault `name` of the cluster in `directory` again:
    /// stops it first if it runs (SIGTERM, the grace period, SIGKILL), then
    /// starts it under a new supervisor and waits until it serves (a node:
    /// its health check; the vault: it accepts connections).
    ///
    /// For operators after a crash or maintenance (a node killed, the
    /// vault's disk replaced), and for fault tests. The other processes are
    /// left alone; the node's data directory is reopened as it is.
    public func restart(directory: String, name: String,
                        progress: @Sendable (String) -> Void = { _ in }) async throws(ClusterError) -> RestartReport {
        var state = try ClusterState.load(directory: directory)
        let plan = ClusterPlan(spec: state.spec, baseDirectory: directory)
        guard let process = plan.process(named: name) else {
            let names = plan.nodes.map(\.spec.name) + [plan.vault?.spec.name].compactMap { $0 }
            throw ClusterError(.invalidSpec, "\(name) is neither a node nor the vault of the cluster in \(directory) (it has \(names.joined(separator: ", ")))")
        }
        let stopped: StopReport
        if state.process(of: name) != nil {
            stopped = await stop(plan: plan, state: &state) { $0 == name }.first { $0.name == name }
                ?? StopReport(name: name, pid: 0, outcome: .notRunning(nil), seconds: 0)
            try state.write(directory: directory)
            if stopped.outcome == .stillRunning {
                throw ClusterError(.stop, "\(process.command.rawValue) \(name) (pid \(stopped.pid)) is still running after SIGKILL; not started again")
            }
        } else {
            stopped = StopReport(name: name, pid: 0, outcome: .notRunning(NodeProcesses.readExit(process)), seconds: 0)
        }
        let supervisor = try NodeProcesses.launch(executable: executable, process: process)
        let pid = try await NodeProcesses.waitForPID(process, supervisor: supervisor)
        state.processes.removeAll { $0.name == name }
        state.processes.append(.init(name: name, pid: pid, supervisorPID: supervisor, startedAt: Date().ISO8601Format()))
        try state.write(directory: directory)
        progress("started \(process.command.rawValue) \(name) (pid \(pid)); log \(process.logPath)")
        if let vault = plan.vault, vault.spec.name == name {
            try await waitUntilListening(vault, pid: pid)
            progress("vault \(name) is listening on \(vault.endpoint)")
        } else if let node = plan.node(named: name) {
            try await waitUntilServing(node, pid: pid)
            progress("node \(name) is serving (renkei.v1.Health/Check over mutual TLS)")
        }
        return RestartReport(name: name, stopped: stopped, pid: pid)
    }

    /// Waits until node process `pid` answers its health check over mutual
    /// TLS; fails early if the process exits.
    func waitUntilServing(_ node: ClusterPlan.NodePlan, pid: Int32) async throws(ClusterError) {
        let configPath = node.configPath
        do throws(ClusterError) {
            _ = try await HealthProbe.waitUntilServing(
                configPath: configPath, code: node.spec.municipalities[0].code, timeout: timing.startTimeout,
                stillRunning: { NodeProcesses.isRunning(pid, nodeConfig: configPath) })
        } catch {
            throw ClusterError(.start, "node \(node.spec.name): \(error.message); see \(node.logPath)")
        }
    }

    /// Waits until the vault accepts TCP connections on its port (its TLS
    /// and identity are checked by every node that connects).
    func waitUntilListening(_ vault: ClusterPlan.VaultPlan, pid: Int32) async throws(ClusterError) {
        let deadline = ContinuousClock.now + timing.startTimeout
        while ContinuousClock.now < deadline {
            if HealthProbe.acceptsConnections(host: vault.spec.host, port: vault.spec.port) { return }
            guard NodeProcesses.isRunning(pid, nodeConfig: vault.configPath) else {
                throw ClusterError(.start, "vault \(vault.spec.name) ended while starting; see \(vault.process.logPath)")
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        throw ClusterError(.start, "vault \(vault.spec.name) is not listening on \(vault.endpoint) after \(timing.startTimeout); see \(vault.process.logPath)")
    }

    /// Whether the cluster's vault runs and listens, if it has one.
    public func vaultStatus(directory: String) throws(ClusterError) -> (name: String, endpoint: String, pid: Int32?, running: Bool, listening: Bool, lastExit: NodeExit?)? {
        let state = try ClusterState.load(directory: directory)
        let plan = ClusterPlan(spec: state.spec, baseDirectory: directory)
        guard let vault = plan.vault else { return nil }
        let pid = state.process(of: vault.spec.name)?.pid
        let running = pid.map { NodeProcesses.isRunning($0, nodeConfig: vault.configPath) } ?? false
        let listening = running && HealthProbe.acceptsConnections(host: vault.spec.host, port: vault.spec.port)
        return (vault.spec.name, vault.endpoint, pid, running, listening, running ? nil : NodeProcesses.readExit(vault.process))
    }

    // MARK: status

    /// The status of every node of the cluster in `directory`, with a health
    /// check of each running one.
    public func status(directory: String) async throws(ClusterError) -> [NodeStatus] {
        let state = try ClusterState.load(directory: directory)
        let plan = ClusterPlan(spec: state.spec, baseDirectory: directory)
        var result: [NodeStatus] = []
        for node in plan.nodes {
            let process = state.process(of: node.spec.name)
            let running = process.map { NodeProcesses.isRunning($0.pid, nodeConfig: node.configPath) } ?? false
            var health: Result<HealthProbe.Answer, ClusterError>?
            if running {
                do throws(ClusterError) {
                    health = .success(try await HealthProbe.check(configPath: node.configPath, code: node.spec.municipalities[0].code))
                } catch {
                    health = .failure(error)
                }
            }
            result.append(NodeStatus(name: node.spec.name, endpoint: node.endpoint, codes: node.spec.municipalities.map(\.code),
                                     pid: process?.pid, running: running, health: health,
                                     lastExit: running ? nil : NodeProcesses.readExit(node.process)))
        }
        return result
    }
}
