import Crypto
import X509

/// What a node trusts: the federation CA certificate (`ca.pem`). It anchors
/// peer certificate chains, the revocation list and the signed directory.
public struct FederationTrust: Sendable {
    /// The CA certificate.
    public let certificate: Certificate
    /// SHA-256 of the CA's SubjectPublicKeyInfo, hex: the `keyId` of documents it signs.
    public let keyId: String
    let publicKey: P256.Signing.PublicKey

    init(verified certificate: Certificate) {
        self.certificate = certificate
        self.keyId = SPKIHash.sha256Hex(of: certificate)
        self.publicKey = P256.Signing.PublicKey(certificate.publicKey)!
    }

    /// Trusts `certificate`, which must be a CA certificate with a P-256 key.
    public init(caCertificate certificate: Certificate) throws(PKIError) {
        guard let bc = try? certificate.extensions.basicConstraints, case .isCertificateAuthority = bc else {
            throw PKIError(.malformedCertificate, "\(certificate.subject) is not a CA certificate (basicConstraints CA is missing)")
        }
        guard P256.Signing.PublicKey(certificate.publicKey) != nil else {
            throw PKIError(.malformedCertificate, "\(certificate.subject): the federation CA key must be P-256")
        }
        self.init(verified: certificate)
    }

    /// Trusts the CA certificate in PEM or DER `bytes`; `source` names them in errors.
    public init(bytes: [UInt8], source: String) throws(PKIError) {
        try self.init(caCertificate: try CertificateCoding.certificate(from: bytes, source: source))
    }

    /// Trusts the CA certificate in the file at `path`.
    public init(contentsOf path: String) throws(PKIError) {
        try self.init(bytes: try PKIFiles.contents(path, what: "CA certificate"), source: path)
    }

    /// Whether `signature` (DER ECDSA) over `bytes` is the CA's.
    func isValidSignature(_ signature: [UInt8], for bytes: [UInt8]) -> Bool {
        guard let sig = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return publicKey.isValidSignature(sig, for: bytes)
    }
}
