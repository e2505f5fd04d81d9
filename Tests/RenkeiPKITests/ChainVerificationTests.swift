import Foundation
import RenkeiCore
import RenkeiPKI
import Testing

@Suite struct ChainVerificationTests {
    let ca: FederationCA
    init() throws {
        ca = try FederationCA.create(name: "Test Federation CA", notBefore: Date() - 365 * day, notAfter: Date() + 365 * day)
    }

    func der(_ issued: IssuedCertificate) throws(PKIError) -> [UInt8] { try CertificateCoding.der(issued.certificate) }

    @Test func goodCertificateVerifies() async throws {
        let issued = try ca.issue(nodeRequest(codes: [matsue, izumo]))
        let peer = try await PeerVerifier(trust: ca.trust).verify(leaf: try der(issued), requiring: izumo)
        #expect(peer.info.municipalityCodes == [matsue, izumo])
        #expect(peer.chain.count == 2)
        #expect(peer.chain.last == ca.certificate)
    }

    @Test func certificateFromAnotherCAIsUntrusted() async throws {
        let other = try makeCA("Test Federation CA")  // same name, different key
        let issued = try other.issue(nodeRequest())
        let code = await pkiErrorCode { _ = try await PeerVerifier(trust: ca.trust).verify(leaf: try der(issued)) }
        #expect(code == .untrusted)
    }

    @Test func expiredAndNotYetValid() async throws {
        let now = Date()
        let expired = try ca.issue(nodeRequest(notBefore: now - 10 * day, notAfter: now - day))
        let future = try ca.issue(nodeRequest(notBefore: now + day, notAfter: now + 10 * day))
        let verifier = PeerVerifier(trust: ca.trust)
        #expect(await pkiErrorCode { _ = try await verifier.verify(leaf: try der(expired), at: now) } == .expired)
        #expect(await pkiErrorCode { _ = try await verifier.verify(leaf: try der(future), at: now) } == .notYetValid)
        // The same certificates are fine at a time inside their validity.
        _ = try await verifier.verify(leaf: try der(expired), at: now - 5 * day)
        _ = try await verifier.verify(leaf: try der(future), at: now + 5 * day)
    }

    @Test func expiredCAIsExpired() async throws {
        let now = Date()
        let old = try FederationCA.create(name: "Old CA", notBefore: now - 10 * day, notAfter: now - day)
        let issued = try old.issue(nodeRequest(notBefore: now - 10 * day, notAfter: now + day))
        do throws(PKIError) {
            _ = try await PeerVerifier(trust: old.trust).verify(leaf: try der(issued), at: now)
            Issue.record("a certificate under an expired CA verified")
        } catch {
            #expect(error.code == .expired)
            #expect(error.message.contains("its issuer CN=Old CA"))
        }
    }

    @Test func revokedCertificateIsRefused() async throws {
        let tmp = try TempDir()
        let dir = CADirectory(tmp.path)
        try dir.create(ca)
        let good = try ca.issue(nodeRequest(name: "good"))
        let bad = try ca.issue(nodeRequest(name: "bad"))
        #expect(try dir.revoke(SerialNumber(bad.certificate.serialNumber), reason: "key compromise"))
        #expect(try !dir.revoke(SerialNumber(bad.certificate.serialNumber), reason: "again"))
        let list = try RevocationList.verify(try dir.signRevocationList(validDays: 7), ca: ca.trust)
        let verifier = PeerVerifier(trust: ca.trust, revocationList: list)
        #expect(await pkiErrorCode { _ = try await verifier.verify(leaf: try der(bad)) } == .revoked)
        _ = try await verifier.verify(leaf: try der(good))
    }

    @Test func codesAndRolesAreChecked() async throws {
        let verifier = PeerVerifier(trust: ca.trust)
        let node = try ca.issue(nodeRequest(codes: [matsue]))
        #expect(await pkiErrorCode { _ = try await verifier.verify(leaf: try der(node), requiring: izumo) } == .codeNotCarried)
        let vault = try ca.issue(CertificateRequest(name: "vault", role: .vault, municipalityCodes: [], validDays: 1))
        #expect(await pkiErrorCode { _ = try await verifier.verify(leaf: try der(vault)) } == .wrongRole)
        #expect(await pkiErrorCode { _ = try await verifier.verify(leaf: try der(vault), role: .vault, requiring: matsue) } == .missingCodes)
        _ = try await verifier.verify(leaf: try der(vault), role: .vault)
    }

    @Test func garbageIsMalformed() async throws {
        let verifier = PeerVerifier(trust: ca.trust)
        #expect(await pkiErrorCode { _ = try await verifier.verify(leaf: [0x30, 0x03, 0x02, 0x01, 0x01]) } == .malformedCertificate)
    }
}
