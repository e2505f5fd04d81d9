import Foundation
import RenkeiVault
import Testing
@testable import RenkeiVaultServer

/// The built `renkei` executable (next to the test bundle; RENKEI_BIN overrides).
var renkeiExecutable: String {
    if let path = ProcessInfo.processInfo.environment["RENKEI_BIN"] { return path }
    let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    var dir = URL(fileURLWithPath: exe).deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: dir.appendingPathComponent("renkei").path), dir.path != "/" {
        dir = dir.deletingLastPathComponent()
    }
    return dir.appendingPathComponent("renkei").path
}

/// Runs `renkei ARGS` to completion; returns exit code, stdout, stderr.
func runRenkei(_ arguments: [String]) throws -> (code: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: renkeiExecutable)
    process.arguments = arguments
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    // Small outputs: reading one pipe to its end and then the other cannot block here.
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self))
}

/// A loopback port that was free a moment ago.
func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
    }
    guard bound else { throw VaultNetworkError(.connection, "cannot find a free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// Ships 1...10 once; nil if the vault is not answering yet.
func shipOnce(_ endpoint: VaultEndpoint, _ creds: VaultClientCredentials) async -> [UInt64]? {
    do {
        return try await VaultTransport.withClient(endpoint, credentials: creds) { vault in
            try await ship(vault, [shipRequest(nil), shipRequest(1...10)])
        }
    } catch {
        return nil
    }
}

@Suite struct VaultProcessTests {
    @Test func vaultProcessServesStopsOnSIGTERMAndBackupVerifyFindsDamage() async throws {
        guard FileManager.default.isExecutableFile(atPath: renkeiExecutable) else {
            Issue.record("the renkei executable is not built at \(renkeiExecutable); run swift build --build-tests")
            return
        }
        let fed = try TestFederation()
        try fed.issue("vault", role: .vault)
        try fed.issue("node-a", role: .node)
        var config = fed.vaultConfig()
        config.listenPort = try freePort()
        let configPath = fed.dir.file("vault.json")
        try config.write(to: configPath)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: renkeiExecutable)
        process.arguments = ["vault", "--config", configPath, "--log-level", "warning"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { process.terminate() } }

        let endpoint = VaultEndpoint(host: "127.0.0.1", port: config.listenPort, serverName: "vault")
        let creds = try fed.credentials("node-a")
        // Wait until it answers (bounded by attempts, not by time assertions).
        var acks: [UInt64]?
        for _ in 0..<200 {
            acks = await shipOnce(endpoint, creds)
            if acks != nil { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(acks == [0, 10])
        let pid = try String(contentsOfFile: config.pidPath, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(pid == String(process.processIdentifier))

        process.interrupt()  // SIGINT: graceful
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(!FileManager.default.fileExists(atPath: config.pidPath))

        var result = try runRenkei(["backup", "verify", "--vault-data", config.dataDirectory])
        #expect(result.code == 0, "\(result.err)")
        #expect(result.out.contains("node node-a: intact"), "\(result.out)")

        // Damage the segment: verify names the file and fails.
        let segments = try FileManager.default.contentsOfDirectory(atPath: config.dataDirectory + "/nodes/node-a/segments")
        let segment = try #require(segments.first { $0.hasSuffix(".seg.lz4") })
        let path = config.dataDirectory + "/nodes/node-a/segments/" + segment
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        bytes[bytes.count / 2] ^= 0xFF
        try bytes.write(to: URL(fileURLWithPath: path))
        result = try runRenkei(["backup", "verify", "--vault-data", config.dataDirectory, "--node", "node-a"])
        #expect(result.code == 1)
        #expect(result.err.contains(segment), "\(result.err)")

        result = try runRenkei(["backup", "verify", "--vault-data", config.dataDirectory, "--node", "node-z"])
        #expect(result.code == 3, "\(result.err)")
    }
}
