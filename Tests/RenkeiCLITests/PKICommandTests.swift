import Foundation
import Testing

/// `renkei ca …` and `renkei directory …` through the real executable.
@Suite struct PKICommandTests {
    @Test func caIssueRevokeAndDirectoryEndToEnd() throws {
        let s = try Scratch()
        let pki = s.path + "/pki"
        var r = try Renkei.run(["ca", "init", "--dir", pki, "--name", "Test CA", "--valid-days", "30"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        let keyMode = (try FileManager.default.attributesOfItem(atPath: pki + "/ca.key")[.posixPermissions] as! NSNumber).intValue
        #expect(keyMode == 0o600)
        r = try Renkei.run(["ca", "init", "--dir", pki])
        #expect(r.exitCode != 0)
        #expect(r.stderr.contains("refusing to overwrite"))

        r = try Renkei.run(["ca", "issue", "node", "--dir", pki, "--name", "matsue", "--codes", "322016,322032",
                            "--dns", "localhost", "--ip", "127.0.0.1", "--out", s.path + "/certs"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(!r.stdout.contains("PRIVATE KEY"))
        r = try Renkei.run(["ca", "show", s.path + "/certs/matsue.pem"])
        #expect(r.stdout.contains("codes       322016,322032"))
        #expect(r.stdout.contains("role        node"))

        // A bad check digit is rejected, naming the option; nothing is written.
        r = try Renkei.run(["ca", "issue", "node", "--dir", pki, "--name", "bad", "--codes", "322016,322017", "--out", s.path + "/certs"])
        #expect(r.exitCode == 64)
        #expect(r.stderr.contains("--codes"))
        #expect(!FileManager.default.fileExists(atPath: s.path + "/certs/bad.key"))

        // Directory: sign, verify, tamper.
        let input = s.path + "/directory.json"
        try #"{"nodes":[{"name":"matsue","endpoint":"localhost:7443","codes":["322016","322032"],"certificate":"certs/matsue.pem"}]}"#
            .write(toFile: input, atomically: true, encoding: .utf8)
        r = try Renkei.run(["directory", "sign", "--dir", pki, "--in", input, "--out", s.path + "/directory.signed.json", "--valid-hours", "2"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        r = try Renkei.run(["directory", "verify", "--dir", pki, s.path + "/directory.signed.json"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stdout.contains("322032  matsue  localhost:7443"))
        r = try Renkei.run(["directory", "verify", "--dir", pki, input])
        #expect(r.exitCode == 2)
        #expect(r.stderr.contains("unsigned"))

        // Revocation: by certificate, then publish.
        r = try Renkei.run(["ca", "revoke", "--dir", pki, "--cert", s.path + "/certs/matsue.pem", "--reason", "retired"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        r = try Renkei.run(["ca", "crl", "--dir", pki, "--out", s.path + "/crl.json"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stdout.contains("1 revoked"))

        // A world-readable CA key is refused.
        chmod(pki + "/ca.key", 0o644)
        r = try Renkei.run(["ca", "crl", "--dir", pki, "--out", s.path + "/crl2.json"])
        #expect(r.exitCode == 1)
        #expect(r.stderr.contains("chmod 600"))
    }
}
