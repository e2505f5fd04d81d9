#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RenkeiCore
import RenkeiSynth
import Testing

/// A small local cluster with a vault, run as real processes (`renkei cluster
/// up`), for the backup and disaster-recovery tests of issue 5.
///
/// Two nodes: matsue (322016) and izumo (322032), so that Matsue can write
/// through its running node by asking Izumo (`inquire transfer|bulk` stores
/// every MATCH in Matsue's tenant) and by marking its own residents as moved
/// out. Everything goes through the `renkei` executable; the files are read
/// where the cluster lays them out.
final class BackupCluster {
    let scratch: Scratch
    /// The cluster directory (`$D`).
    let dir: String
    let matsueResidents: Int
    let izumoResidents: Int
    let seed: UInt64 = 5

    /// The operator view of Matsue (`$D/322016`).
    var matsue: String { dir + "/322016" }
    /// The vault's data directory (`$D/vault-site/data`).
    var vaultData: String { dir + "/vault-site/data" }

    /// Writes the cluster file and runs `cluster up`.
    init(mode: String = "async", matsueResidents: Int = 40, izumoResidents: Int = 60) throws {
        scratch = try Scratch()
        dir = scratch.path + "/c"
        self.matsueResidents = matsueResidents
        self.izumoResidents = izumoResidents
        let ports = try ClusterCommandTests.freePorts(3)
        let spec = """
        {"seed": \(seed), "nodes": [
          {"name": "matsue", "port": \(ports[0]), "municipalities": [{"code": "322016", "name": "松江市", "residents": \(matsueResidents)}]},
          {"name": "izumo", "port": \(ports[1]), "municipalities": [{"code": "322032", "name": "出雲市", "residents": \(izumoResidents)}]}
        ],
        "vault": {"name": "vault", "host": "127.0.0.1", "port": \(ports[2]), "mode": "\(mode)"}}
        """
        let specPath = scratch.path + "/cluster.json"
        try spec.write(toFile: specPath, atomically: true, encoding: .utf8)
        let up = try Renkei.run(["cluster", "up", specPath, "--dir", dir])
        guard up.exitCode == 0 else {
            down()
            throw BackupTestFailure("cluster up failed (exit \(up.exitCode)): \(up.stderr)\(Self.logs(dir))")
        }
    }

    private var stopped = false

    /// `cluster down`: every process stopped, whatever state it is in.
    func down() {
        _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"])
        stopped = true
    }

    // No process outlives a test, even one that threw before its defer.
    deinit { if !stopped { down() } }

    /// The tails of the process logs, for failure messages.
    static func logs(_ dir: String) -> String {
        var text = ""
        for path in ["nodes/matsue/node.log", "nodes/izumo/node.log", "vault-site/vault.log"] {
            let log = (try? String(contentsOfFile: dir + "/" + path, encoding: .utf8)) ?? ""
            text += "\n--- \(path) (last 1500 characters)\n" + String(log.suffix(1500))
        }
        return text
    }
    var logs: String { Self.logs(dir) }

    // MARK: Processes

    /// The pid file of `name`: a node, or "vault".
    func pidPath(_ name: String) -> String {
        name == "vault" ? dir + "/vault-site/vault.pid" : dir + "/nodes/\(name)/node.pid"
    }

    /// The running process id of node `name` (or the vault).
    func pid(_ name: String) throws -> Int32 {
        let text = try #require(FileManager.default.contents(atPath: pidPath(name)).map { String(decoding: $0, as: UTF8.self) })
        return try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// `kill -9` of node `name` (or the vault); returns once it is gone.
    func kill9(_ name: String) throws {
        let pid = try pid(name)
        #expect(kill(pid, SIGKILL) == 0, "kill -9 \(name) (pid \(pid))")
        let deadline = ContinuousClock.now + .seconds(30)
        while ClusterCommandTests.alive(pid), ContinuousClock.now < deadline { usleep(20_000) }
        #expect(!ClusterCommandTests.alive(pid), "\(name) (pid \(pid)) survived SIGKILL")
    }

    /// `renkei cluster restart --dir D NAME`.
    @discardableResult
    func restart(_ name: String) throws -> Renkei.Result {
        let result = try Renkei.run(["cluster", "restart", "--dir", dir, name, "--grace", "5"])
        #expect(result.exitCode == 0, "cluster restart \(name): \(result.stdout)\(result.stderr)\(logs)")
        return result
    }

    // MARK: Backup status

    /// `renkei backup status --node $D/CODE --json`, parsed.
    func backupStatus(_ code: String = "322016") throws -> [String: Any] {
        let result = try Renkei.run(["backup", "status", "--node", dir + "/" + code, "--json"])
        guard result.exitCode == 0 else { throw BackupTestFailure("backup status: exit \(result.exitCode): \(result.stderr)") }
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
    }

    /// Polls `backup status` (every 0.25 s, up to `seconds`) until `done`
    /// holds; returns the last status seen and whether `done` held.
    func poll(_ code: String = "322016", seconds: Double = 120, until done: ([String: Any]) -> Bool) throws -> (status: [String: Any], ok: Bool) {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        var last: [String: Any] = [:]
        repeat {
            if let status = try? backupStatus(code) {
                last = status
                if done(status) { return (status, true) }
            }
            usleep(250_000)
        } while ContinuousClock.now < deadline
        return (last, false)
    }

    /// Waits (up to 120 s) until the vault has acknowledged every change of
    /// the node hosting `code` and holds a base snapshot of it.
    @discardableResult
    func waitUntilShipped(_ code: String = "322016", sourceLocation: SourceLocation = #_sourceLocation) throws -> [String: Any] {
        let (status, ok) = try poll(code) { s in
            let change = Self.uint(s["lastChangeSeq"]), acked = Self.uint(s["lastAckedSeq"])
            return change > 0 && acked >= change && s["lastSnapshotID"] != nil && (s["needsSnapshot"] as? Bool) == false
        }
        #expect(ok, "the vault did not catch up with \(code) within 120 s: \(status)\(logs)", sourceLocation: sourceLocation)
        return status
    }

    static func uint(_ value: Any?) -> UInt64 { (value as? NSNumber)?.uint64Value ?? 0 }

    // MARK: Writes through the running node

    /// Individual Numbers of `code`'s generated residents at `indices`.
    func numbers(_ code: String, _ indices: [Int]) throws -> [String] {
        let count = code == "322016" ? matsueResidents : izumoResidents
        let generator = PopulationGenerator(spec: PopulationSpec(municipality: try MunicipalityCode(code), count: count, seed: seed))
        return indices.map { generator.person(at: $0).resident.individualNumber.digits }
    }

    /// Every generated resident of `code`.
    func population(_ code: String) throws -> [GeneratedPerson] {
        let count = code == "322016" ? matsueResidents : izumoResidents
        return Array(PopulationGenerator(spec: PopulationSpec(municipality: try MunicipalityCode(code), count: count, seed: seed)))
    }

    /// Matsue marks its resident `number` as moved out to 322032 (a write
    /// through the running node's admin socket).
    @discardableResult
    func markMovedOut(_ number: String, on date: String = "2026-11-01", expectSuccess: Bool = true,
                      sourceLocation: SourceLocation = #_sourceLocation) throws -> Renkei.Result {
        let result = try Renkei.run(["resident", "mark-moved-out", "--node", matsue, "--number", number, "--to", "322032", "--on", date])
        if expectSuccess {
            #expect(result.exitCode == 0, "mark-moved-out: \(result.stdout)\(result.stderr)", sourceLocation: sourceLocation)
        }
        return result
    }

    /// Matsue asks Izumo about `number` and stores the MATCH (a write
    /// through the running node).
    @discardableResult
    func inquire(_ number: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> Renkei.Result {
        let result = try Renkei.run(["inquire", "transfer", "--node", matsue, "--from", "322032", "--number", number])
        #expect(result.exitCode == 0 && result.stdout.hasPrefix("MATCH"), "inquire transfer: \(result.stdout)\(result.stderr)",
                sourceLocation: sourceLocation)
        return result
    }

    /// A bulk input asking Izumo about its residents at `indices`.
    func bulkInput(_ indices: [Int]) throws -> String {
        let path = scratch.path + "/bulk-\(UUID().uuidString).csv"
        let rows = try numbers("322032", indices).map { "322032,\($0)" }
        try (["前住所地市区町村コード,個人番号"] + rows).joined(separator: "\n").appending("\n").write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `renkei inquire bulk --node $D/322016 INPUT` in the background: many
    /// writes (every MATCH stored) through the running node.
    func startBulk(_ indices: [Int], batchSize: Int = 50) throws -> Background {
        let input = try bulkInput(indices)
        return try Background(["inquire", "bulk", "--node", matsue, input, "--out", input + ".results.csv",
                               "--batch-size", String(batchSize), "--progress", "none"],
                              log: input + ".log")
    }

    // MARK: Restore and offline reads

    /// `renkei restore --vault $D/vault` of `code` (or of the whole node with
    /// `node:`) into `to`.
    func restore(code: String? = "322016", node: String? = nil, to: String, at: String? = nil, offline: Bool = false,
                 vault: String? = nil) throws -> Renkei.Result {
        var args = ["restore", "--vault", vault ?? dir + "/vault", "--to", to,
                    "--recovery-kit", dir + "/322016/recovery-kit.json",
                    "--passphrase-file", dir + "/322016/recovery-kit.passphrase", "--progress", "none"]
        if let code { args += ["--code", code] }
        if let node { args += ["--node", node] }
        if let at { args += ["--at", at] }
        if offline { args.append("--offline") }
        return try Renkei.run(args)
    }

    /// `renkei resident show --data DATA --code 322016 --number N`.
    func show(data: String, _ number: String, code: String = "322016") throws -> Renkei.Result {
        try Renkei.run(["resident", "show", "--data", data, "--code", code, "--number", number])
    }

    /// `renkei backup verify --vault-data $D/vault-site/data`.
    func verify() throws -> Renkei.Result {
        try Renkei.run(["backup", "verify", "--vault-data", vaultData])
    }

    /// The `RESIDENTS VACCINATIONS RECEIVED FILES` row restore printed for 322016.
    static func restoredCounts(_ output: String, code: String = "322016") -> [String]? {
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix(code) }) else { return nil }
        let columns = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        // CODE NAME RESIDENTS VACCINATIONS RECEIVED-FILES KEYRING
        guard columns.count >= 5 else { return nil }
        return Array(columns[2...4])
    }

    /// `tenant list --data DATA`: the row of `code` (residents, vaccinations).
    func tenantCounts(data: String, code: String = "322016") throws -> [String] {
        let result = try Renkei.run(["tenant", "list", "--data", data])
        #expect(result.exitCode == 0, "tenant list --data \(data): \(result.stderr)")
        guard let line = result.stdout.split(separator: "\n").first(where: { $0.hasPrefix(code) }) else { return [] }
        let columns = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        return columns.count >= 4 ? Array(columns[2...3]) : []
    }

    /// `export vaccinations` of `code` from DATA, as text.
    func exportVaccinations(data: String, code: String = "322016") throws -> String {
        let out = scratch.path + "/export-\(UUID().uuidString).csv"
        let result = try Renkei.run(["export", "vaccinations", "--data", data, "--code", code, "--out", out])
        #expect(result.exitCode == 0, "export --data \(data): \(result.stdout)\(result.stderr)")
        return (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
    }

    /// Every regular file under `root`, recursively (paths relative to it).
    static func files(under root: String) -> [String] {
        var result: [String] = []
        guard let walker = FileManager.default.enumerator(atPath: root) else { return [] }
        while let entry = walker.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: root + "/" + entry, isDirectory: &isDirectory), !isDirectory.boolValue {
                result.append(entry)
            }
        }
        return result.sorted()
    }

    /// Whether `path` is missing or an empty directory: what a failed restore leaves.
    static func isAbsentOrEmpty(_ path: String) -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return true }
        return ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? ["?"]).isEmpty
    }
}

/// A `renkei` process left running while the test does something else; its
/// output goes to a file so it never blocks on a full pipe.
final class Background {
    let process = Process()
    let logPath: String

    init(_ arguments: [String], log: String) throws {
        logPath = log
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.executableURL = URL(fileURLWithPath: Renkei.executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "RENKEI_MASTER_KEY")
        process.environment = env
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits for it (it always ends: its work is finite) and returns the exit code and output.
    func wait() -> (exitCode: Int32, output: String) {
        process.waitUntilExit()
        return (process.terminationStatus, (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")
    }
}

/// A test precondition that failed, with what was seen.
struct BackupTestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}

/// Flips one byte of the file at `path` (at `offset`, default the middle);
/// returns a closure that puts it back.
func flipByte(_ path: String, at offset: Int? = nil) throws -> () throws -> Void {
    var bytes = try #require(FileManager.default.contents(atPath: path), "cannot read \(path)")
    let index = offset ?? bytes.count / 2
    let original = bytes[index]
    bytes[index] ^= 0x5A
    try bytes.write(to: URL(fileURLWithPath: path))
    return {
        bytes[index] = original
        try bytes.write(to: URL(fileURLWithPath: path))
    }
}

/// Runs a program (not renkei) to completion: grep, lz4, mount.
@discardableResult
func runTool(_ path: String, _ arguments: [String]) throws -> Renkei.Result {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let errData = LockedData()
    let errThread = Thread { errData.set(err.fileHandleForReading.readDataToEndOfFile()) }
    errThread.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while !errData.isSet { usleep(1_000) }
    return Renkei.Result(exitCode: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                         stderr: String(decoding: errData.get(), as: UTF8.self))
}
