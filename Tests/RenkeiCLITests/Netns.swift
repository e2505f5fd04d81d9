#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Synchronization
import Testing

/// Linux network namespaces for `PartitionTests`, made and removed with
/// iproute2's `ip`. Every name starts with `rkpt<pid>-`, the pid of the test
/// process that made it, so a later run can tell its own leftovers (from a
/// run that was killed) from another run's live namespaces.
enum Netns {
    /// iproute2's `ip`, if installed.
    static let ip: String? = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    /// The prefix of every name the partition test makes.
    static let family = "rkpt"

    /// Whether this process may make what the partition test needs: root,
    /// `ip`, and a probe namespace with a bridge and a veth pair in it.
    static let available: Bool = {
        guard getuid() == 0, ip != nil else { return false }
        let probe = "\(family)\(getpid())-p"
        _ = try? run(["netns", "delete", probe])
        defer { _ = try? run(["netns", "delete", probe]) }
        return (try? run(["netns", "add", probe]).exitCode == 0) == true
            && (try? run(["-n", probe, "link", "add", "p0", "type", "veth", "peer", "name", "p1"]).exitCode == 0) == true
            && (try? run(["-n", probe, "link", "add", "br0", "type", "bridge"]).exitCode == 0) == true
    }()

    /// Runs `ip ARGS` to completion.
    @discardableResult
    static func run(_ arguments: [String]) throws -> Renkei.Result {
        guard let ip else { throw BackupTestFailure("iproute2's ip is not installed") }
        return try runTool(ip, arguments)
    }

    /// Runs `ip ARGS` and throws with its error output unless it succeeds.
    static func must(_ arguments: [String]) throws {
        let result = try run(arguments)
        guard result.exitCode == 0 else {
            throw BackupTestFailure("ip \(arguments.joined(separator: " ")): exit \(result.exitCode): \(result.stderr)")
        }
    }

    /// The namespaces `ip netns list` shows.
    static func namespaces() -> [String] {
        let out = (try? run(["netns", "list"]).stdout) ?? ""
        // "NAME" or "NAME (id: N)".
        return out.split(separator: "\n").compactMap { $0.split(separator: " ").first.map(String.init) }
    }

    /// Interface names in this (the root) namespace.
    static func rootLinks() -> [String] {
        let out = (try? run(["-o", "link", "show"]).stdout) ?? ""
        // "7: NAME@if6: <…" — the name ends at '@' or ':'.
        return out.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", maxSplits: 2)
            guard fields.count >= 2 else { return nil }
            return fields[1].trimmingCharacters(in: .whitespaces).split(separator: "@").first.map(String.init)
        }
    }

    /// The test process that made `name` (`rkpt<pid>-…`), if it is one of ours.
    static func owner(of name: String) -> pid_t? {
        guard name.hasPrefix(family) else { return nil }
        let digits = name.dropFirst(family.count).prefix { $0.isNumber }
        guard !digits.isEmpty, name.dropFirst(family.count + digits.count).hasPrefix("-") else { return nil }
        return pid_t(digits)
    }

    /// Whether `name` was made by a test process that no longer runs (or by this one).
    static func isLeftover(_ name: String) -> Bool {
        guard let pid = owner(of: name) else { return false }
        return pid == getpid() || (kill(pid, 0) != 0 && errno == ESRCH)
    }

    /// Kills what still runs in namespace `name` (only ever one of ours:
    /// nodes a killed test run left behind) and deletes it.
    static func deleteNamespace(_ name: String) {
        let pids = ((try? run(["netns", "pids", name]).stdout) ?? "").split(separator: "\n").compactMap { pid_t($0) }
        for pid in pids { kill(pid, SIGKILL) }
        if !pids.isEmpty { usleep(200_000) }
        _ = try? run(["netns", "delete", name])
    }

    /// Removes every leftover namespace and root-namespace link of the family.
    static func removeLeftovers() {
        for name in rootLinks() where isLeftover(name) { _ = try? run(["link", "delete", name]) }
        for name in namespaces() where isLeftover(name) { deleteNamespace(name) }
    }
}

/// The partition test's network: a hub namespace with a Linux bridge, one
/// namespace per member (node A, node B, the vault) with a veth to the
/// bridge and its own address, and a veth from the test's own (root)
/// namespace into the hub, so that `cluster up`, its health checks and the
/// CLI reach every member. A member's link is cut by setting its veth's
/// hub end down, and restored by setting it up.
///
/// Addresses come from a 10.213.N.0/24 that neither `ip -4 addr` nor
/// `ip -4 route` mentions; nothing of the host (its sysctls, its firewall,
/// its other interfaces) is touched. `remove()` (also run by `deinit`)
/// deletes everything made here.
final class PartitionNet {
    /// A member with its own namespace and address.
    enum Member: String, CaseIterable {
        case a, b, vault = "v"

        var hostNumber: Int {
            switch self {
            case .a: 11
            case .b: 12
            case .vault: 13
            }
        }
    }

    /// `rkpt<pid>`: the prefix of every name made here.
    let id = "\(Netns.family)\(getpid())"
    /// `10.213.N`: the first three octets of the /24 used.
    let subnet: String
    private var removed = false

    var hub: String { id + "-hub" }
    /// The namespace of `member`.
    func namespace(_ member: Member) -> String { id + "-" + member.rawValue }
    /// The address `member` listens on.
    func address(_ member: Member) -> String { "\(subnet).\(member.hostNumber)" }
    /// The hub end of `member`'s veth: what `cut` sets down.
    func hubPort(_ member: Member) -> String { id + "-h" + member.rawValue }
    /// The root namespace's end of its veth into the hub.
    var rootLink: String { id + "-r" }

    /// Removes leftovers of killed runs, picks a free /24 and builds the network.
    init() throws {
        Netns.removeLeftovers()
        subnet = try Self.freeSubnet()
        do {
            try build()
        } catch {
            remove()
            throw error
        }
    }

    deinit { remove() }

    /// A 10.213.N prefix no address or route of the root namespace uses;
    /// N starts from the pid so that two concurrent runs rarely try the same.
    static func freeSubnet() throws -> String {
        let seen = ((try? Netns.run(["-4", "addr"]).stdout) ?? "") + ((try? Netns.run(["-4", "route"]).stdout) ?? "")
        let start = Int(getpid()) % 50
        for offset in 0..<50 {
            let prefix = "10.213.\(200 + (start + offset) % 50)"
            if !seen.contains(prefix + ".") { return prefix }
        }
        throw BackupTestFailure("no free 10.213.200-249.0/24 here: every one is in use by an address or route")
    }

    private func build() throws {
        try Netns.must(["netns", "add", hub])
        try Netns.must(["-n", hub, "link", "add", "br0", "type", "bridge"])
        try Netns.must(["-n", hub, "link", "set", "br0", "up"])
        for member in Member.allCases {
            let ns = namespace(member), port = hubPort(member), inner = id + "-" + member.rawValue + "0"
            try Netns.must(["netns", "add", ns])
            // Made inside the member's namespace, so no name is ever taken in the root one.
            try Netns.must(["-n", ns, "link", "add", inner, "type", "veth", "peer", "name", port, "netns", hub])
            try Netns.must(["-n", hub, "link", "set", port, "master", "br0"])
            try Netns.must(["-n", hub, "link", "set", port, "up"])
            try Netns.must(["-n", ns, "addr", "add", address(member) + "/24", "dev", inner])
            try Netns.must(["-n", ns, "link", "set", inner, "up"])
            try Netns.must(["-n", ns, "link", "set", "lo", "up"])
        }
        let hubEnd = id + "-hr"
        try Netns.must(["link", "add", rootLink, "type", "veth", "peer", "name", hubEnd, "netns", hub])
        try Netns.must(["-n", hub, "link", "set", hubEnd, "master", "br0"])
        try Netns.must(["-n", hub, "link", "set", hubEnd, "up"])
        try Netns.must(["addr", "add", "\(subnet).1/24", "dev", rootLink])
        try Netns.must(["link", "set", rootLink, "up"])
    }

    /// Cuts `member` off: the hub end of its veth goes down.
    func cut(_ member: Member) throws {
        try Netns.must(["-n", hub, "link", "set", hubPort(member), "down"])
    }

    /// Puts `member` back on the bridge.
    func restore(_ member: Member) throws {
        try Netns.must(["-n", hub, "link", "set", hubPort(member), "up"])
    }

    /// Deletes the root link and every namespace made here (killing anything
    /// still running in them: only processes this test started). Idempotent.
    func remove() {
        guard !removed else { return }
        removed = true
        _ = try? Netns.run(["link", "delete", rootLink])
        for member in Member.allCases { Netns.deleteNamespace(namespace(member)) }
        Netns.deleteNamespace(hub)
    }

    /// What is left of this network (empty once removed), for the test's last check.
    var remains: [String] {
        (Netns.namespaces() + Netns.rootLinks()).filter { $0.hasPrefix(id + "-") }
    }
}

/// Runs `renkei ARGS`, killing it if it has not ended after `seconds`, so
/// that no step of the partition test can hang; returns its result and how
/// long it took.
func runBounded(_ arguments: [String], seconds: Double) throws -> (result: Renkei.Result, seconds: Double) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Renkei.executable)
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment
    env.removeValue(forKey: "RENKEI_MASTER_KEY")
    process.environment = env
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    let started = ContinuousClock.now
    try process.run()
    let pid = process.processIdentifier
    let watch = RunWatch()
    DispatchQueue.global().asyncAfter(deadline: .now() + seconds) { watch.expire(pid) }
    let errData = LockedData()
    let errThread = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    errThread.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    watch.finish()
    while !errData.isSet { usleep(1_000) }
    let elapsed = (ContinuousClock.now - started) / .seconds(1)
    var stderr = String(decoding: errData.get(), as: UTF8.self)
    if watch.killed { stderr += "\n[killed by the test after \(seconds) s]" }
    return (Renkei.Result(exitCode: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self), stderr: stderr), elapsed)
}

/// Whether a bounded run ended by itself or was killed.
final class RunWatch: Sendable {
    private let state = Mutex((ended: false, killed: false))

    /// The process ended: a later timer must not kill a recycled pid.
    func finish() { state.withLock { $0.ended = true } }

    /// The time is up: kills `pid` unless it already ended.
    func expire(_ pid: pid_t) {
        state.withLock { s in
            guard !s.ended else { return }
            kill(pid, SIGKILL)
            s.killed = true
        }
    }

    var killed: Bool { state.withLock { $0.killed } }
}
