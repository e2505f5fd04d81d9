#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// How a node process ended, as its supervisor recorded it in `node.exit`.
public struct NodeExit: Sendable, Codable, Equatable, CustomStringConvertible {
    /// The exit status, if the process exited.
    public var status: Int32?
    /// The signal that ended it, if one did.
    public var signal: Int32?
    /// When the supervisor saw it end (ISO 8601).
    public var endedAt: String

    public init(status: Int32? = nil, signal: Int32? = nil, endedAt: String) {
        self.status = status
        self.signal = signal
        self.endedAt = endedAt
    }

    /// `exited 0`, `killed by SIGKILL`.
    public var description: String {
        if let status { return "exited \(status)" }
        if let signal { return "killed by \(NodeExit.signalName(signal))" }
        return "ended"
    }

    /// Whether the node shut down cleanly (exit status 0).
    public var isClean: Bool { status == 0 }

    /// `SIGTERM` for 15, and so on; `signal N` for the rest.
    public static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGTERM: return "SIGTERM"
        case SIGKILL: return "SIGKILL"
        case SIGINT: return "SIGINT"
        case SIGHUP: return "SIGHUP"
        case SIGABRT: return "SIGABRT"
        case SIGSEGV: return "SIGSEGV"
        case SIGBUS: return "SIGBUS"
        case SIGILL: return "SIGILL"
        case SIGTRAP: return "SIGTRAP"
        default: return "signal \(signal)"
        }
    }
}

/// A process `cluster up` runs under a supervisor: a node or the vault.
public struct SupervisedProcess: Sendable, Equatable {
    /// The `renkei` subcommand it runs.
    public enum Command: String, Sendable, CaseIterable {
        case node
        case vault
    }

    /// Its name in the cluster (unique across nodes and the vault).
    public let name: String
    /// `renkei node` or `renkei vault`.
    public let command: Command
    /// Its configuration file (`--config`).
    public let configPath: String
    /// Its standard output and error.
    public let logPath: String
    /// Its process id, written by the supervisor.
    public let pidPath: String
    /// How it ended, written by the supervisor.
    public let exitPath: String
    /// The supervisor's process id.
    public let supervisorPIDPath: String
    /// The network namespace the supervisor (and so the process) runs in, if any.
    public let netns: String?

    public init(name: String, command: Command, configPath: String, logPath: String, pidPath: String, exitPath: String,
                supervisorPIDPath: String, netns: String? = nil) {
        self.name = name
        self.command = command
        self.configPath = configPath
        self.logPath = logPath
        self.pidPath = pidPath
        self.exitPath = exitPath
        self.supervisorPIDPath = supervisorPIDPath
        self.netns = netns
    }
}

/// Starting, watching and stopping node (and vault) processes.
///
/// A node runs as `renkei node --config NAME/node.json` under a small
/// supervisor (`renkei cluster supervise`) started in a new session with its
/// output in `node.log`, so both outlive `cluster up` and a terminal that
/// closes. The supervisor is the node's parent: it writes `node.pid`, waits
/// for the node and records in `node.exit` how it ended — the exit status
/// that `cluster down` reports, which no other process could learn.
public enum NodeProcesses {
    /// Starts the supervisor of `process` from `executable` in a new session
    /// (stdin /dev/null, stdout and stderr appended to its log) and returns
    /// the supervisor's process id. Clears a previous run's pid and exit
    /// files first.
    ///
    /// With a network namespace, the supervisor runs as `ip netns exec NAME
    /// renkei cluster supervise …`: `ip` enters the namespace and execs the
    /// supervisor in place (same process id), and the node it starts
    /// inherits the namespace.
    public static func launch(executable: String, process: SupervisedProcess) throws(ClusterError) -> pid_t {
        for path in [process.pidPath, process.exitPath, process.supervisorPIDPath] { unlink(path) }
        var argv = [executable, "cluster", "supervise", "--command", process.command.rawValue, "--config", process.configPath,
                    "--pid-file", process.pidPath, "--exit-file", process.exitPath]
        if let netns = process.netns {
            argv = try netnsExecPrefix(netns, for: process) + argv
        }
        let pid = try spawn(argv, output: process.logPath, newSession: true)
        writeAtomically("\(pid)\n", to: process.supervisorPIDPath)
        return pid
    }

    /// Waits until the supervisor has written the process id.
    public static func waitForPID(_ process: SupervisedProcess, supervisor: pid_t,
                                  timeout: Duration = .seconds(10)) async throws(ClusterError) -> pid_t {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let pid = readPID(process.pidPath) { return pid }
            if !isRunning(supervisor) {
                throw ClusterError(.start, "\(process.command.rawValue) \(process.name): its supervisor ended before starting it; see \(process.logPath)")
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        throw ClusterError(.start, "\(process.command.rawValue) \(process.name): no process id in \(process.pidPath) after \(timeout)")
    }

    /// Runs in the supervisor: starts `executable COMMAND --config CONFIG` as a
    /// child (output inherited), writes its pid to `pidFile`, waits for it,
    /// writes how it ended to `exitFile` and returns its exit status (128 +
    /// signal if killed), for the supervisor to exit with.
    ///
    /// The supervisor ignores SIGTERM, SIGINT and SIGHUP so that it stays to
    /// record the ending; the node gets their default handling back.
    public static func supervise(executable: String, command: SupervisedProcess.Command = .node,
                                 config: String, pidFile: String, exitFile: String) -> Int32 {
        signal(SIGTERM, SIG_IGN)
        signal(SIGINT, SIG_IGN)
        signal(SIGHUP, SIG_IGN)
        let child: pid_t
        do throws(ClusterError) {
            child = try spawn([executable, command.rawValue, "--config", config], output: nil, newSession: false)
        } catch {
            FileHandle.standardError.write(Data("supervisor: \(error)\n".utf8))
            return 1
        }
        writeAtomically("\(child)\n", to: pidFile)
        var status: Int32 = 0
        while waitpid(child, &status, 0) == -1 {
            guard errno == EINTR else {
                FileHandle.standardError.write(Data("supervisor: waitpid failed (errno \(errno))\n".utf8))
                return 1
            }
        }
        let now = Date().ISO8601Format()
        // WIFEXITED / WTERMSIG are macros Swift does not import; the layout is
        // the classic one: low 7 bits the signal (0: exited), next 8 the status.
        let signalNumber = status & 0x7F
        let exit = signalNumber == 0
            ? NodeExit(status: (status >> 8) & 0xFF, endedAt: now)
            : NodeExit(signal: signalNumber, endedAt: now)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        if let data = try? encoder.encode(exit) { writeAtomically(String(decoding: data, as: UTF8.self) + "\n", to: exitFile) }
        FileHandle.standardError.write(Data("supervisor: \(command.rawValue) process \(child) \(exit)\n".utf8))
        return exit.status ?? 128 + signalNumber
    }

    /// How the node ended, if its supervisor has recorded it.
    public static func readExit(_ process: SupervisedProcess) -> NodeExit? {
        guard let data = FileManager.default.contents(atPath: process.exitPath) else { return nil }
        return try? JSONDecoder().decode(NodeExit.self, from: data)
    }

    /// The process id in a pid file, if there is a complete one.
    public static func readPID(_ path: String) -> pid_t? {
        guard let data = FileManager.default.contents(atPath: path),
              let text = String(data: data, encoding: .utf8), text.hasSuffix("\n"),
              let pid = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0 else { return nil }
        return pid
    }

    /// Whether `pid` is a running (not zombie) process and, if `configPath`
    /// is given, the node process for that configuration — a recycled pid
    /// belonging to something else is not our node.
    public static func isRunning(_ pid: pid_t, nodeConfig configPath: String? = nil) -> Bool {
        guard pid > 0, kill(pid, 0) == 0 || errno == EPERM else { return false }
        #if os(Linux)
        if let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
           let close = stat.lastIndex(of: ")") {
            // Field 3, after "pid (comm) ", is the state; Z and X are gone.
            let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
            if state == "Z" || state == "X" { return false }
        }
        if let configPath {
            guard let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            let args = cmdline.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
            return (args.contains("node") || args.contains("vault")) && args.contains(configPath)
        }
        #endif
        return true
    }

    /// Sends `signal` to `pid`; false if there is no such process.
    @discardableResult
    public static func send(_ signal: Int32, to pid: pid_t) -> Bool {
        kill(pid, signal) == 0
    }

    // MARK: Spawning

    /// Where iproute2's `ip` is looked for: the usual places, then PATH.
    static var ipCandidates: [String] {
        let path = ProcessInfo.processInfo.environment["PATH"]?.split(separator: ":").map { String($0) + "/ip" } ?? []
        return ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"] + path
    }

    /// `[ip, "netns", "exec", NAME]`, after checking that the namespace exists,
    /// so that a missing one is a clear error here rather than a supervisor
    /// that ends at once with only `ip`'s message in the log.
    static func netnsExecPrefix(_ netns: String, for process: SupervisedProcess) throws(ClusterError) -> [String] {
        let what = "\(process.command.rawValue) \(process.name)"
        guard let ip = ipCandidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw ClusterError(.start, "\(what): netns \"\(netns)\" needs iproute2's ip command, which is not installed (looked in \(ipCandidates.prefix(4).joined(separator: ", ")) and PATH)")
        }
        guard FileManager.default.fileExists(atPath: "/run/netns/" + netns) else {
            throw ClusterError(.start, "\(what): network namespace \"\(netns)\" does not exist (no /run/netns/\(netns)); create it with `ip netns add \(netns)` and give it the address \(process.name) listens on")
        }
        return [ip, "netns", "exec", netns]
    }

    /// glibc's POSIX_SPAWN_SETSID (2.26+), which Swift's Glibc module does not export.
    static let spawnSetSID: Int32 = 0x80

    /// posix_spawn with stdin from /dev/null, stdout and stderr appended to
    /// `output` (or inherited when nil), an empty signal mask and default
    /// handling of SIGTERM, SIGINT and SIGHUP; optionally in a new session.
    static func spawn(_ argv: [String], output: String?, newSession: Bool) throws(ClusterError) -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let output {
            posix_spawn_file_actions_addopen(&actions, 1, output, O_WRONLY | O_CREAT | O_APPEND, 0o600)
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        }
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var flags = Int32(POSIX_SPAWN_SETSIGMASK) | Int32(POSIX_SPAWN_SETSIGDEF)
        if newSession { flags |= spawnSetSID }
        posix_spawnattr_setflags(&attributes, Int16(flags))
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, s) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        closeInheritedDescriptorsOnExec()
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnvironment: [UnsafeMutablePointer<CChar>?] = ProcessInfo.processInfo.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in cArgs + cEnvironment { free(p) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, argv[0], &actions, &attributes, cArgs, cEnvironment)
        guard rc == 0 else {
            throw ClusterError(.start, "cannot start \(argv[0]) \(argv.dropFirst().prefix(2).joined(separator: " ")): \(String(cString: strerror(rc)))")
        }
        return pid
    }

    /// Marks every descriptor above stderr close-on-exec, so that a node
    /// does not keep the caller's pipes (a test reading `cluster up`'s output
    /// to the end would wait for the node) or database files open.
    static func closeInheritedDescriptorsOnExec() {
        #if os(Linux)
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd") else { return }
        for entry in entries {
            guard let fd = Int32(entry), fd > 2 else { continue }
            let flags = fcntl(fd, F_GETFD)
            if flags >= 0 { _ = fcntl(fd, F_SETFD, flags | FD_CLOEXEC) }
        }
        #endif
    }

    /// Writes `text` to a temporary file and renames it over `path`, so a
    /// reader sees the whole file or none.
    static func writeAtomically(_ text: String, to path: String) {
        try? Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
