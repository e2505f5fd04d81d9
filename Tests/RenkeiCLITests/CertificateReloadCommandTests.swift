#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing

/// Certificate reload without a restart on a real `renkei node` process
/// (issue 7, item 2; ADR 0010): its certificate and key files are replaced
/// by a renewed pair, SIGHUP makes it reload them at once (a log line names
/// the new serial), and a new TLS connection from an independent client
/// (openssl s_client) is served the new certificate, while the process keeps running.
@Suite(.serialized) struct CertificateReloadCommandTests {
    /// Runs a shell pipeline; its stdout.
    static func shell(_ command: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The serial (openssl's `serial=…` line) of the certificate the server at `port` presents to a new connection.
    static func servedSerial(port: Int, certificate: String, key: String) throws -> String {
        try shell("openssl s_client -connect 127.0.0.1:\(port) -tls1_3 -cert '\(certificate)' -key '\(key)' </dev/null 2>/dev/null"
                  + " | openssl x509 -noout -serial")
    }

    @Test func sighupReloadsTheNodeCertificate() async throws {
        let scratch = try Scratch()
        let ports = try ClusterCommandTests.freePorts(1)
        let spec = """
        {"seed": 5, "nodes": [
          {"name": "matsue", "port": \(ports[0]), "municipalities": [{"code": "322016", "residents": 3}]}
        ]}
        """
        try spec.write(toFile: scratch.path + "/cluster.json", atomically: true, encoding: .utf8)
        let dir = scratch.path + "/c"
        defer { _ = try? Renkei.run(["cluster", "down", "--dir", dir, "--grace", "5"]) }
        let up = try Renkei.run(["cluster", "up", scratch.path + "/cluster.json", "--dir", dir])
        try #require(up.exitCode == 0, "cluster up failed: \(up.stderr)")

        let node = dir + "/nodes/matsue"
        let cert = node + "/tls/matsue.pem", key = node + "/tls/matsue.key"
        let before = try Self.servedSerial(port: ports[0], certificate: cert, key: key)
        #expect(before.hasPrefix("serial="), "openssl s_client got no certificate: \(before)")
        #expect(before == (try Self.shell("openssl x509 -noout -serial -in '\(cert)'")))

        // A renewed certificate from the same CA, moved into place by rename.
        let issued = try Renkei.run(["ca", "issue", "node", "--dir", dir + "/pki", "--name", "matsue", "--codes", "322016",
                                     "--dns", "localhost", "--ip", "127.0.0.1", "--out", scratch.path + "/renewed"])
        try #require(issued.exitCode == 0, "ca issue failed: \(issued.stderr)")
        let renewedSerial = try Self.shell("openssl x509 -noout -serial -in '\(scratch.path)/renewed/matsue.pem'")
        #expect(renewedSerial != before)
        try #require(rename(scratch.path + "/renewed/matsue.key", key) == 0)
        try #require(rename(scratch.path + "/renewed/matsue.pem", cert) == 0)

        let pidText = try String(contentsOfFile: node + "/node.pid", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let pid = try #require(pid_t(pidText))
        #expect(kill(pid, SIGHUP) == 0)

        // The reload's log line names the new serial (lowercase hex, as Renkei prints serials).
        let hex = String(renewedSerial.dropFirst("serial=".count)).lowercased().drop { $0 == "0" }
        var log = ""
        for _ in 0..<300 {
            log = (try? String(contentsOfFile: node + "/node.log", encoding: .utf8)) ?? ""
            if log.contains("node certificate reloaded") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        let line = log.split(separator: "\n").first { $0.contains("node certificate reloaded") }
        let reloaded = try #require(line, "no reload line in node.log:\n\(log.suffix(2000))")
        #expect(reloaded.contains(String(hex)), "\(reloaded)")
        #expect(log.contains("SIGHUP: reloading TLS material"))

        let after = try Self.servedSerial(port: ports[0], certificate: cert, key: key)
        #expect(after == renewedSerial, "a new connection after SIGHUP is served the renewed certificate")
        #expect(kill(pid, 0) == 0, "the node is still running")
    }
}
