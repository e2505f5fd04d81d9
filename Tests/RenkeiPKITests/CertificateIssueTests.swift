import Foundation
import RenkeiCore
import RenkeiPKI
import Testing
import X509

@Suite struct CertificateIssueTests {
    @Test func caInitWritesCertificateAndPrivateKey0600() throws {
        let tmp = try TempDir()
        let dir = CADirectory(tmp.file("pki"))
        try dir.create(try makeCA())
        #expect(try mode(dir.keyPath) == 0o600)
        let ca = try dir.load()
        let bc = try ca.certificate.extensions.basicConstraints
        #expect(bc == .isCertificateAuthority(maxPathLength: 0))
        let ku = try #require(try ca.certificate.extensions.keyUsage)
        #expect(ku.keyCertSign && ku.cRLSign && !ku.digitalSignature)
        #expect(try PeerCertificateInfo(ca.certificate).role == nil)
    }

    @Test func caInitRefusesToOverwrite() throws {
        let tmp = try TempDir()
        let dir = CADirectory(tmp.path)
        try dir.create(try makeCA())
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.keyPath))
        #expect(pkiErrorCode { try dir.create(try makeCA()) } == .fileExists)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.keyPath)) == before)
    }

    @Test func issuedNodeCertificateReadsBack() throws {
        let tmp = try TempDir()
        let ca = try makeCA()
        let issued = try ca.issue(nodeRequest())
        try issued.write(to: tmp.file("out"))
        #expect(try mode(tmp.file("out/matsue.key")) == 0o600)
        let pem = try Data(contentsOf: URL(fileURLWithPath: tmp.file("out/matsue.pem")))
        let info = try NodeIdentity(bytes: Array(pem), source: "matsue.pem")
        #expect(info.name == "matsue")
        #expect(info.role == .node)
        #expect(info.municipalityCodes == [matsue])
        #expect(info.carries(matsue) && !info.carries(izumo))
        #expect(info.dnsNames == ["localhost"])
        #expect(info.ipAddresses == ["127.0.0.1", "::1"])
        #expect(info.serial == SerialNumber(issued.certificate.serialNumber))
        #expect(info.spkiSHA256.count == 64)
        #expect(info.spkiSHA256 == SPKIHash.sha256Hex(of: issued.privateKey.publicKey))
        let caPEM = try Data(contentsOf: URL(fileURLWithPath: tmp.file("out/ca.pem")))
        #expect(try CertificateCoding.certificate(from: Array(caPEM), source: "ca.pem") == ca.certificate)
        // Key usage and extended key usage.
        let ku = try #require(try issued.certificate.extensions.keyUsage)
        #expect(ku.digitalSignature && !ku.keyCertSign)
        let eku = try #require(try issued.certificate.extensions.extendedKeyUsage)
        #expect(eku.contains(.serverAuth) && eku.contains(.clientAuth))
        // The written key is the holder's key, and refused on re-issue.
        #expect(try PrivateKeyFile.read(tmp.file("out/matsue.key")).publicKey.rawRepresentation == issued.privateKey.publicKey.rawRepresentation)
        #expect(pkiErrorCode { try ca.issue(nodeRequest()).write(to: tmp.file("out")) } == .fileExists)
    }

    @Test func sanURIsAreExact() throws {
        let issued = try makeCA().issue(nodeRequest(codes: [izumo, matsue]))
        let san = try #require(try issued.certificate.extensions.subjectAlternativeNames)
        let uris = san.compactMap { name -> String? in
            if case .uniformResourceIdentifier(let u) = name { return u }
            return nil
        }
        #expect(uris == ["urn:renkei:role:node", "urn:renkei:lg:322016", "urn:renkei:lg:322032"])
    }

    @Test func twoCodesOnOneCertificate() throws {
        let issued = try makeCA().issue(nodeRequest(codes: [matsue, izumo, matsue]))
        let info = try issued.info
        #expect(info.municipalityCodes == [matsue, izumo])
        #expect(info.carries(matsue) && info.carries(izumo))
    }

    @Test func roleIsRecorded() throws {
        let ca = try makeCA()
        let vault = try ca.issue(CertificateRequest(name: "vault-1", role: .vault, municipalityCodes: [], validDays: 30))
        #expect(try vault.info.role == .vault)
        #expect(try vault.info.municipalityCodes.isEmpty)
        let dr = try ca.issue(CertificateRequest(name: "dr", role: .drOperator, municipalityCodes: [], validDays: 30))
        #expect(try dr.info.role == .drOperator)
    }

    @Test func invalidInputIsRejectedNamingTheField() throws {
        // A bad check digit never becomes a MunicipalityCode; the error names the field.
        do throws(ValidationError) {
            _ = try MunicipalityCode("322017", field: FieldName("--codes"))
            Issue.record("bad check digit accepted")
        } catch {
            #expect(error.rule == .checkDigit)
            #expect(error.description.contains("--codes"))
        }
        let ca = try makeCA()
        for (request, field) in [
            (nodeRequest(codes: []), "codes"),
            (nodeRequest(name: "../evil"), "name"),
            (CertificateRequest(name: "n", municipalityCodes: [matsue], ipAddresses: ["300.1.1.1"], validDays: 1), "ip"),
            (CertificateRequest(name: "n", municipalityCodes: [matsue], dnsNames: ["bad host"], validDays: 1), "dns"),
        ] {
            do throws(PKIError) {
                _ = try ca.issue(request)
                Issue.record("accepted a bad \(field)")
            } catch {
                #expect(error.code == .invalidInput)
                #expect(error.message.hasPrefix(field))
            }
        }
    }

    @Test func keyFileReadableByOthersIsRefused() throws {
        let tmp = try TempDir()
        let dir = CADirectory(tmp.path)
        try dir.create(try makeCA())
        chmod(dir.keyPath, 0o644)
        do throws(PKIError) {
            _ = try dir.load()
            Issue.record("loaded a world-readable key")
        } catch {
            #expect(error.code == .keyFilePermissions)
            #expect(error.message.contains("chmod 600 \(dir.keyPath)"))
            #expect(!error.description.contains("PRIVATE KEY"))
        }
        chmod(dir.keyPath, 0o600)
        _ = try dir.load()
    }

    @Test func serialNumbersParseAsOperatorsTypeThem() throws {
        #expect(try SerialNumber(hex: "0x00:4F:a2").hex == "4fa2")
        #expect(try SerialNumber(hex: "abc").hex == "0abc")
        #expect(pkiErrorCode { _ = try SerialNumber(hex: "xyz") } == .invalidInput)
    }
}
