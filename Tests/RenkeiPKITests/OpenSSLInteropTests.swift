import Foundation
import RenkeiPKI
import Testing

/// Issued certificates must be ordinary X.509 that stock tools accept.
@Suite(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl"), "needs /usr/bin/openssl"))
struct OpenSSLInteropTests {
    func openssl(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func opensslVerifiesIssuedCertificates() throws {
        let tmp = try TempDir()
        let dir = CADirectory(tmp.file("pki"))
        try dir.create(try makeCA())
        let issued = try dir.load().issue(nodeRequest(codes: [matsue, izumo]))
        try issued.write(to: tmp.file("out"))
        let verify = try openssl(["verify", "-CAfile", dir.certificatePath, tmp.file("out/matsue.pem")])
        #expect(verify.status == 0, "\(verify.output)")
        let both = try openssl(["verify", "-purpose", "sslserver", "-CAfile", tmp.file("out/ca.pem"), tmp.file("out/matsue.pem")])
        #expect(both.status == 0, "\(both.output)")
        let client = try openssl(["verify", "-purpose", "sslclient", "-CAfile", tmp.file("out/ca.pem"), tmp.file("out/matsue.pem")])
        #expect(client.status == 0, "\(client.output)")

        let text = try openssl(["x509", "-noout", "-text", "-in", tmp.file("out/matsue.pem")])
        #expect(text.status == 0)
        #expect(text.output.contains("URI:urn:renkei:role:node"))
        #expect(text.output.contains("URI:urn:renkei:lg:322016"))
        #expect(text.output.contains("URI:urn:renkei:lg:322032"))
        #expect(text.output.contains("DNS:localhost"))
        #expect(text.output.contains("IP Address:127.0.0.1"))
        #expect(text.output.contains("TLS Web Server Authentication, TLS Web Client Authentication"))

        // openssl reads the key file, and prints the same serial.
        let key = try openssl(["pkey", "-in", tmp.file("out/matsue.key"), "-noout"])
        #expect(key.status == 0, "\(key.output)")
        let serial = try openssl(["x509", "-noout", "-serial", "-in", tmp.file("out/matsue.pem")])
        #expect(serial.output.lowercased().contains("serial=\(try issued.info.serial.hex)"))
    }

    @Test func opensslRejectsAnotherCA() throws {
        let tmp = try TempDir()
        let dir = CADirectory(tmp.file("pki"))
        try dir.create(try makeCA())
        try makeCA().issue(nodeRequest()).write(to: tmp.file("out"))
        let verify = try openssl(["verify", "-CAfile", dir.certificatePath, tmp.file("out/matsue.pem")])
        #expect(verify.status != 0)
    }
}
