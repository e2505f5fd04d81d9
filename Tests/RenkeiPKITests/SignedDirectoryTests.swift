import Foundation
import RenkeiCore
import RenkeiPKI
import Testing

@Suite struct SignedDirectoryTests {
    let ca: FederationCA
    let entries: [MunicipalityCode: DirectoryEntry]

    init() throws {
        ca = try makeCA()
        let m = try ca.issue(nodeRequest(name: "matsue", codes: [matsue, izumo]))
        let info = try m.info
        entries = [
            matsue: DirectoryEntry(nodeName: "matsue", host: "localhost", port: 7443, spkiSHA256: info.spkiSHA256),
            izumo: DirectoryEntry(nodeName: "matsue", host: "localhost", port: 7443, spkiSHA256: info.spkiSHA256),
        ]
    }

    func signed(expiresIn: TimeInterval = day, by signer: FederationCA? = nil) throws -> [UInt8] {
        try SignedDirectory.sign(entries, ca: signer ?? ca, issuedAt: Date(), expiresAt: Date() + expiresIn)
    }

    @Test func roundTripAndLookup() throws {
        let directory = try SignedDirectory.verify(try signed(), trust: ca.trust)
        #expect(directory.codes == [matsue, izumo])
        let entry = try #require(directory.entry(for: izumo))
        #expect(entry == entries[izumo])
        #expect(entry.endpoint == "localhost:7443")
        #expect(directory.entry(for: try MunicipalityCode("131016")) == nil)
        // The envelope: keyId, base64 payload of sorted-keys JSON, base64 signature.
        let envelope = try JSONSerialization.jsonObject(with: Data(try signed())) as! [String: String]
        #expect(Set(envelope.keys) == ["keyId", "payload", "signature"])
        #expect(envelope["keyId"] == ca.trust.keyId)
        let payload = String(decoding: Data(base64Encoded: envelope["payload"]!)!, as: UTF8.self)
        #expect(payload.hasPrefix("{\"entries\":{\"322016\":{\"host\":\"localhost\",\"nodeName\""))
    }

    @Test func tamperedPayloadByteIsRefused() throws {
        var envelope = try JSONSerialization.jsonObject(with: Data(try signed())) as! [String: String]
        var payload = Array(Data(base64Encoded: envelope["payload"]!)!)
        let port = Array("7443".utf8)
        let at = (0...(payload.count - port.count)).first { Array(payload[$0..<$0 + port.count]) == port }!
        payload[at] = UInt8(ascii: "8")  // 7443 -> 8443
        envelope["payload"] = Data(payload).base64EncodedString()
        let forged = try JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys])
        #expect(pkiErrorCode { _ = try SignedDirectory.verify(Array(forged), trust: ca.trust) } == .signatureInvalid)
    }

    @Test func everyByteOfTheFileIsCovered() throws {
        let original = try signed()
        for i in original.indices {
            var copy = original
            copy[i] ^= 0x01
            let code = pkiErrorCode { _ = try SignedDirectory.verify(copy, trust: ca.trust) }
            #expect(code != nil, "flipping byte \(i) was not detected")
        }
    }

    @Test func signatureByAnotherCAIsRefused() throws {
        let other = try makeCA("Test Federation CA")
        #expect(pkiErrorCode { _ = try SignedDirectory.verify(try signed(by: other), trust: ca.trust) } == .wrongKey)
        // The other CA claiming our key id: the signature does not match.
        var envelope = try JSONSerialization.jsonObject(with: Data(try signed(by: other))) as! [String: String]
        envelope["keyId"] = ca.trust.keyId
        let lying = try JSONSerialization.data(withJSONObject: envelope)
        #expect(pkiErrorCode { _ = try SignedDirectory.verify(Array(lying), trust: ca.trust) } == .signatureInvalid)
    }

    @Test func expiredDirectoryIsRefused() throws {
        let bytes = try signed(expiresIn: 3600)
        #expect(pkiErrorCode { _ = try SignedDirectory.verify(bytes, trust: ca.trust, now: Date() + 7200) } == .documentExpired)
        #expect(pkiErrorCode { _ = try SignedDirectory.verify(bytes, trust: ca.trust, now: Date() - 3600) } == .documentNotYetValid)
    }

    @Test func unsignedOrPlainJSONIsRefused() throws {
        let plain = Array(#"{"nodes":[{"name":"matsue","endpoint":"localhost:7443","codes":["322016"]}]}"#.utf8)
        #expect(pkiErrorCode { _ = try SignedDirectory.verify(plain, trust: ca.trust) } == .unsigned)
        var envelope = try JSONSerialization.jsonObject(with: Data(try signed())) as! [String: String]
        envelope.removeValue(forKey: "signature")
        let stripped = try JSONSerialization.data(withJSONObject: envelope)
        #expect(pkiErrorCode { _ = try SignedDirectory.verify(Array(stripped), trust: ca.trust) } == .unsigned)
        #expect(pkiErrorCode { _ = try SignedDirectory.verify(Array("not json".utf8), trust: ca.trust) } == .malformedDocument)
    }

    @Test func inputResolvesCertificatesAndChecksCodes() throws {
        let tmp = try TempDir()
        let issued = try ca.issue(nodeRequest(name: "matsue", codes: [matsue]))
        try issued.write(to: tmp.file("certs"))
        let good = DirectoryInput(nodes: [.init(name: "matsue", endpoint: "localhost:7443", codes: ["322016"], certificate: "certs/matsue.pem")])
        let resolved = try good.resolve(baseDirectory: tmp.path, trust: ca.trust)
        #expect(resolved[matsue]?.spkiSHA256 == (try issued.info.spkiSHA256))
        // The certificate does not carry 322032.
        let wrongCode = DirectoryInput(nodes: [.init(name: "matsue", endpoint: "localhost:7443", codes: ["322032"], certificate: "certs/matsue.pem")])
        #expect(pkiErrorCode { _ = try wrongCode.resolve(baseDirectory: tmp.path, trust: ca.trust) } == .codeNotCarried)
        // A bad check digit names the field.
        let badCode = DirectoryInput(nodes: [.init(name: "m", endpoint: "[::1]:7443", codes: ["322017"], spkiSHA256: String(repeating: "0", count: 64))])
        do throws(PKIError) {
            _ = try badCode.resolve(baseDirectory: tmp.path, trust: ca.trust)
            Issue.record("bad code accepted")
        } catch {
            #expect(error.code == .invalidInput)
            #expect(error.message.contains("nodes[0].codes"))
        }
        // Another CA's certificate.
        let foreign = try makeCA().issue(nodeRequest(name: "foreign"))
        try foreign.write(to: tmp.file("certs"))
        let untrusted = DirectoryInput(nodes: [.init(name: "f", endpoint: "localhost:7443", codes: ["322016"], certificate: "certs/foreign.pem")])
        #expect(pkiErrorCode { _ = try untrusted.resolve(baseDirectory: tmp.path, trust: ca.trust) } == .untrusted)
    }
}
