import Crypto
import Foundation
import RenkeiPKI
import Testing
import X509

/// Certificates made by someone else's tooling: the reader must not trust a
/// Renkei URI it cannot validate.
@Suite struct CertificateParsingTests {
    func certificate(uris: [String]) throws -> Certificate {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("odd") }
        return try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: .init(key.publicKey),
            notValidBefore: Date() - day, notValidAfter: Date() + day, issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions { SubjectAlternativeNames(uris.map { .uniformResourceIdentifier($0) }) },
            issuerPrivateKey: .init(key))
    }

    @Test func badCheckDigitInSANIsRejectedNamingTheURI() throws {
        let odd = try certificate(uris: ["urn:renkei:role:node", "urn:renkei:lg:322017"])
        do throws(PKIError) {
            _ = try PeerCertificateInfo(odd)
            Issue.record("accepted a code with a bad check digit")
        } catch {
            #expect(error.code == .malformedCertificate)
            #expect(error.message.contains("urn:renkei:lg:322017"))
            #expect(error.message.contains("check digit"))
        }
    }

    @Test func unknownOrDoubleRolesAreRejected() throws {
        #expect(pkiErrorCode { _ = try PeerCertificateInfo(try certificate(uris: ["urn:renkei:role:admin"])) } == .malformedCertificate)
        #expect(pkiErrorCode { _ = try PeerCertificateInfo(try certificate(uris: ["urn:renkei:role:node", "urn:renkei:role:vault"])) } == .malformedCertificate)
        // Other URIs are ignored.
        let info = try PeerCertificateInfo(try certificate(uris: ["https://example.org/x", "urn:renkei:lg:322016"]))
        #expect(info.municipalityCodes == [matsue])
        #expect(info.role == nil)
    }
}
