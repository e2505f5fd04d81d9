import Foundation
import RenkeiCore
@_spi(FixedExpiryValidationTime) import X509

/// A peer certificate that chains to the federation CA, is within its
/// validity, is not revoked and carries what was required.
public struct VerifiedPeer: Sendable {
    /// What the leaf certificate says.
    public let info: PeerCertificateInfo
    /// The validated chain, leaf first, the federation CA last.
    public let chain: [Certificate]
}

/// Decides whether to trust a peer's certificate: swift-certificates'
/// `Verifier` with RFC 5280 policy at a given time, anchored at the federation
/// CA bundle only (any CA in it), then the revocation list, then Renkei's own rules (role, codes).
public struct PeerVerifier: Sendable {
    /// The federation CA.
    public let trust: FederationTrust
    /// The revocation list, if one is loaded (verified with `RevocationList.verify`).
    public let revocationList: RevocationList?

    /// A verifier anchored at `trust`, checking `revocationList` when given.
    public init(trust: FederationTrust, revocationList: RevocationList? = nil) {
        self.trust = trust
        self.revocationList = revocationList
    }

    /// Verifies a peer certificate given as DER (as TLS presents it).
    ///
    /// - Parameters:
    ///   - leaf: the peer's certificate, DER.
    ///   - intermediates: further certificates the peer sent, DER.
    ///   - time: the validation time.
    ///   - role: the role the peer must have (nil: any).
    ///   - code: a municipality code the peer must carry (nil: any, but a node must carry at least one).
    /// - Throws: `PKIError` with `.untrusted`, `.expired`, `.notYetValid`,
    ///   `.revoked`, `.missingCodes`, `.codeNotCarried`, `.wrongRole` or `.malformedCertificate`.
    public func verify(leaf: [UInt8], intermediates: [[UInt8]] = [], at time: Date = Date(),
                       role: PKIRole? = .node, requiring code: MunicipalityCode? = nil) async throws(PKIError) -> VerifiedPeer {
        let leafCertificate = try CertificateCoding.certificate(from: leaf, source: "peer certificate")
        var others: [Certificate] = []
        for (i, der) in intermediates.enumerated() {
            others.append(try CertificateCoding.certificate(from: der, source: "peer intermediate certificate \(i + 1)"))
        }
        return try await verify(leafCertificate, intermediates: others, at: time, role: role, requiring: code)
    }

    /// Verifies a parsed peer certificate; see `verify(leaf:intermediates:at:role:requiring:)`.
    public func verify(_ leaf: Certificate, intermediates: [Certificate] = [], at time: Date = Date(),
                       role: PKIRole? = .node, requiring code: MunicipalityCode? = nil) async throws(PKIError) -> VerifiedPeer {
        let subject = "peer certificate \(leaf.subject) serial \(SerialNumber(leaf.serialNumber))"
        var verifier = Verifier(rootCertificates: CertificateStore(trust.certificates)) {
            RFC5280Policy(fixedExpiryValidationTime: time)
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(intermediates))
        let chain: [Certificate]
        switch result {
        case .validCertificate(let validated):
            chain = Array(validated)
        case .couldNotValidate(let failures):
            throw classify(leaf, intermediates: intermediates, at: time, failures: failures, subject: subject)
        }
        if let revocationList {
            for certificate in chain.dropLast() where revocationList.isRevoked(SerialNumber(certificate.serialNumber)) {
                throw PKIError(.revoked, "\(subject): certificate serial \(SerialNumber(certificate.serialNumber)) is revoked by the federation")
            }
        }
        let info = try PeerCertificateInfo(leaf)
        if let role, info.role != role {
            throw PKIError(.wrongRole, "\(subject): has role \(info.role?.rawValue ?? "none"), expected \(role.rawValue)")
        }
        if info.municipalityCodes.isEmpty && (info.role == .node || code != nil) {
            throw PKIError(.missingCodes, "\(subject): carries no urn:renkei:lg:CODE URI")
        }
        if let code, !info.carries(code) {
            throw PKIError(.codeNotCarried,
                "\(subject): does not carry municipality code \(code) (it carries \(info.municipalityCodes.map(\.rawValue).joined(separator: ", ")))")
        }
        return VerifiedPeer(info: info, chain: chain)
    }

    /// Names why the Verifier found no chain: another CA (or bad signature), or a validity window.
    private func classify(_ leaf: Certificate, intermediates: [Certificate], at time: Date,
                          failures: [CertificateValidationResult.PolicyFailure], subject: String) -> PKIError {
        // Follow signatures alone, ignoring time, to see whether a federation CA is at the top.
        var path = [leaf]
        var tip = leaf
        while trust.issuer(of: tip) == nil {
            guard path.count <= 8, let next = intermediates.first(where: { candidate in
                candidate.subject == tip.issuer && !path.contains(candidate)
                    && candidate.publicKey.isValidSignature(tip.signature, for: tip)
            }) else {
                return PKIError(.untrusted, "\(subject): not issued by the federation CA \(trust.subjects) (issuer \(tip.issuer))")
            }
            path.append(next)
            tip = next
        }
        if let root = trust.issuer(of: tip) { path.append(root.certificate) }
        for certificate in path {
            let which = certificate == leaf ? "" : " (its issuer \(certificate.subject))"
            if time > certificate.notValidAfter {
                return PKIError(.expired, "\(subject)\(which): expired at \(certificate.notValidAfter)")
            }
            if time < certificate.notValidBefore {
                return PKIError(.notYetValid, "\(subject)\(which): not valid before \(certificate.notValidBefore)")
            }
        }
        let reasons = failures.map { $0.policyFailureReason.description }.joined(separator: "; ")
        return PKIError(.untrusted, "\(subject): rejected by RFC 5280 policy: \(reasons.isEmpty ? "no valid chain" : reasons)")
    }
}
