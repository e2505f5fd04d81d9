import Foundation
import RenkeiPKI
import Testing

@Suite struct RevocationListTests {
    @Test func signVerifyAndLookup() throws {
        let ca = try makeCA()
        let serial = try SerialNumber(hex: "4fa2")
        let bytes = try RevocationList.sign([RevocationList.Entry(serial: serial, revokedAt: Date(), reason: "lost")],
                                            ca: ca, nextUpdate: Date() + day)
        let list = try RevocationList.verify(bytes, ca: ca.trust)
        #expect(list.isRevoked(serial))
        #expect(!list.isRevoked(try SerialNumber(hex: "4fa3")))
        #expect(list.entries.first?.reason == "lost")
    }

    @Test func tamperedListIsDetected() throws {
        let ca = try makeCA()
        let bytes = try RevocationList.sign([RevocationList.Entry(serial: try SerialNumber(hex: "01"), revokedAt: Date(), reason: nil)],
                                            ca: ca, nextUpdate: Date() + day)
        // Drop the revoked serial from the payload, keep the signature.
        var envelope = try JSONSerialization.jsonObject(with: Data(bytes)) as! [String: String]
        let payload = String(decoding: Data(base64Encoded: envelope["payload"]!)!, as: UTF8.self)
            .replacingOccurrences(of: "\"01\"", with: "\"02\"")
        envelope["payload"] = Data(payload.utf8).base64EncodedString()
        let forged = try JSONSerialization.data(withJSONObject: envelope)
        #expect(pkiErrorCode { _ = try RevocationList.verify(Array(forged), ca: ca.trust) } == .signatureInvalid)
        // Another CA's list, and a stale list.
        #expect(pkiErrorCode { _ = try RevocationList.verify(bytes, ca: try makeCA().trust) } == .wrongKey)
        #expect(pkiErrorCode { _ = try RevocationList.verify(bytes, ca: ca.trust, now: Date() + 2 * day) } == .documentExpired)
    }

    @Test func aDirectoryIsNotARevocationList() throws {
        let ca = try makeCA()
        let directory = try SignedDirectory.sign(
            [matsue: DirectoryEntry(nodeName: "m", host: "localhost", port: 7443, spkiSHA256: String(repeating: "a", count: 64))],
            ca: ca, expiresAt: Date() + day)
        #expect(pkiErrorCode { _ = try RevocationList.verify(directory, ca: ca.trust) } == .wrongDocumentType)
    }
}
