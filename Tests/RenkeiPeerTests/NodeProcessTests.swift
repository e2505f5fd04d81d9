import Foundation
import RenkeiCore
import RenkeiPKI
import Testing
@testable import RenkeiPeer

/// The built `renkei` executable (next to the test bundle).
enum RenkeiBinary {
    static var path: String {
        if let path = ProcessInfo.processInfo.environment["RENKEI_BIN"] { return path }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
        while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("renkei").path), dir.path != "/" {
            dir = dir.deletingLastPathComponent()
        }
        return dir.appendingPathComponent("renkei").path
    }

    /// Runs `renkei ARGS` to completion; returns exit code, stdout, stderr.
    static func run(_ arguments: [String]) throws -> (Int32, String, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "RENKEI_MASTER_KEY")
        process.environment = env
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let errFile = err.fileHandleForReading
        let errData = Mutexed()
        let thread = Thread { errData.set(errFile.readDataToEndOfFile()) }
        thread.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errData.isSet { usleep(1_000) }
        return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData.get(), as: UTF8.self))
    }
}

final class Mutexed: @unchecked Sendable {
    // Guarded by `lock`; shared between the test and one reader thread.
    private let lock = NSLock()
    private var data = Data()
    private var done = false
    func set(_ d: Data) { lock.lock(); data = d; done = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return done }
    func get() -> Data { lock.lock(); defer { lock.unlock() }; return data }
}

@Suite(.serialized) struct NodeProcessTests {
    @Test func nodeProcessAnswersInquireTransferAndStopsOnSIGTERM() async throws {
        guard FileManager.default.isExecutableFile(atPath: RenkeiBinary.path) else {
            Issue.record("renkei executable not found at \(RenkeiBinary.path); run swift build first")
            return
        }
        let fed = try Federation()
        let matsueCert = try fed.issue("matsue", codes: [matsue])
        try fed.issue("izumo", codes: [izumo])
        let person = people(matsue, count: 3, seed: 322016)[0]
        let dataDir: String, izumoDataDir: String
        do {
            let store = try fed.makeStore("matsue", hosting: [matsue], residents: 3)
            dataDir = store.directory.root
            // The requester's own node (not running): what it receives is stored there.
            let requesterStore = try fed.makeStore("izumo", hosting: [izumo], residents: 1)
            izumoDataDir = requesterStore.directory.root
        }
        let port = Int.random(in: 20_000...60_000)
        // Hamada is (wrongly) listed at the Matsue node, whose certificate carries only 322016.
        let directory = try fed.signDirectory([matsue: (port, matsueCert), hamada: (port, matsueCert)])
        let nodeConfigPath = fed.dir.file("matsue-node.json")
        try fed.config("matsue", data: dataDir, directory: directory, port: port).write(to: nodeConfigPath)
        let izumoConfigPath = fed.dir.file("izumo-node.json")
        try fed.config("izumo", data: izumoDataDir, directory: directory).write(to: izumoConfigPath)

        let node = Process()
        node.executableURL = URL(fileURLWithPath: RenkeiBinary.path)
        node.arguments = ["node", "--config", nodeConfigPath, "--log-level", "info"]
        let nodeErr = fed.dir.file("node.log")
        _ = FileManager.default.createFile(atPath: nodeErr, contents: nil)
        node.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: nodeErr))
        node.standardOutput = FileHandle.nullDevice
        try node.run()
        defer { if node.isRunning { node.terminate() } }

        // Wait until it listens.
        var ready = false
        for _ in 0..<100 {
            if (try? String(contentsOfFile: nodeErr, encoding: .utf8))?.contains("peer API listening") == true { ready = true; break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(ready, "node did not start: \((try? String(contentsOfFile: nodeErr, encoding: .utf8)) ?? "")")

        let args = ["inquire", "transfer", "--config", izumoConfigPath, "--as", "322032", "--from", "322016", "--number"]
        let (matchCode, matchOut, matchErr) = try RenkeiBinary.run(args + [person.resident.individualNumber.digits])
        #expect(matchCode == 0, "\(matchErr)")
        #expect(matchOut.contains("MATCH"))
        #expect(matchOut.contains(person.resident.nameKana))
        #expect(matchOut.contains("stored    stored, source 322016"))

        let unknown = try IndividualNumber.completing(firstEleven: "98765432101")
        let (missCode, missOut, _) = try RenkeiBinary.run(args + [unknown.digits])
        #expect(missCode == 3)
        #expect(missOut.contains("NO_MATCH"))

        let (badCode, _, badErr) = try RenkeiBinary.run(args + ["123456789012"])
        #expect(badCode != 0 && badCode != 3)
        #expect(badErr.contains("check digit"))

        let (misCode, _, misErr) = try RenkeiBinary.run(
            ["inquire", "transfer", "--config", izumoConfigPath, "--as", "322032", "--from", "322024", "--number", person.resident.individualNumber.digits])
        #expect(misCode == 1)
        #expect(misErr.contains("does not carry municipality code 322024"))
        #expect(misErr.contains("the number was not sent"))

        node.terminate()  // SIGTERM
        node.waitUntilExit()
        #expect(node.terminationReason == .exit)
        #expect(node.terminationStatus == 0)
        let log = (try? String(contentsOfFile: nodeErr, encoding: .utf8)) ?? ""
        #expect(!log.contains(person.resident.individualNumber.digits))
        #expect(log.contains("node stopped"))
    }
}
