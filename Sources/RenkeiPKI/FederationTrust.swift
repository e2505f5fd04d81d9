import Crypto
import X509

/// What a node trusts: the federation CA certificate file (`ca.pem`). It
/// anchors peer certificate chains, the revocation list and the signed
/// directory.
///
/// The file may hold several CA certificates (a bundle) during a CA
/// rollover: old, then old + new, then new (ADR 0010). A chain to any CA in
/// the bundle is accepted, and a signed document verifies under the CA whose
/// key id it names.
public struct FederationTrust: Sendable {
    /// One trusted CA.
    public struct Anchor: Sendable {
        /// The CA certificate.
        public let certificate: Certificate
        /// SHA-256 of the CA's SubjectPublicKeyInfo, hex: the `keyId` of documents it signs.
        public let keyId: String
        let publicKey: P256.Signing.PublicKey
    }

    /// Every trusted CA, in file order.
    public let anchors: [Anchor]

    /// The first CA of the bundle (the only one outside a rollover).
    public var certificate: Certificate { anchors[0].certificate }
    /// The key id of the first CA of the bundle.
    public var keyId: String { anchors[0].keyId }
    /// Every trusted CA certificate, in file order.
    public var certificates: [Certificate] { anchors.map(\.certificate) }

    init(verified certificates: [Certificate]) {
        anchors = certificates.map { certificate in
            Anchor(certificate: certificate, keyId: SPKIHash.sha256Hex(of: certificate),
                   publicKey: P256.Signing.PublicKey(certificate.publicKey)!)
        }
    }

    init(verified certificate: Certificate) {
        self.init(verified: [certificate])
    }

    /// Trusts `certificate`, which must be a CA certificate with a P-256 key.
    public init(caCertificate certificate: Certificate) throws(PKIError) {
        try self.init(caCertificates: [certificate])
    }

    /// Trusts every certificate of `certificates` (a rollover bundle); each
    /// must be a CA certificate with a P-256 key, and there must be at least one.
    public init(caCertificates certificates: [Certificate]) throws(PKIError) {
        guard !certificates.isEmpty else {
            throw PKIError(.malformedCertificate, "the CA bundle holds no certificate")
        }
        for certificate in certificates {
            guard let bc = try? certificate.extensions.basicConstraints, case .isCertificateAuthority = bc else {
                throw PKIError(.malformedCertificate, "\(certificate.subject) is not a CA certificate (basicConstraints CA is missing)")
            }
            guard P256.Signing.PublicKey(certificate.publicKey) != nil else {
                throw PKIError(.malformedCertificate, "\(certificate.subject): the federation CA key must be P-256")
            }
        }
        self.init(verified: certificates)
    }

    /// Trusts the CA certificate(s) in PEM (one or more blocks) or DER
    /// `bytes`; `source` names them in errors.
    public init(bytes: [UInt8], source: String) throws(PKIError) {
        let certificates = try CertificateCoding.certificates(from: bytes, source: source)
        try self.init(caCertificates: certificates)
    }

    /// Trusts the CA certificate(s) in the file at `path`.
    public init(contentsOf path: String) throws(PKIError) {
        try self.init(bytes: try PKIFiles.contents(path, what: "CA certificate"), source: path)
    }

    /// The trusted CA whose key has id `keyId`, if any.
    public func anchor(keyId: String) -> Anchor? {
        anchors.first { $0.keyId == keyId }
    }

    /// The trusted CA that signed `certificate`, if any.
    public func issuer(of certificate: Certificate) -> Anchor? {
        anchors.first { $0.certificate.publicKey.isValidSignature(certificate.signature, for: certificate) }
    }

    /// The subjects of the trusted CAs, for messages.
    public var subjects: String { anchors.map { "\($0.certificate.subject)" }.joined(separator: " + ") }

    /// Whether `signature` (DER ECDSA) over `bytes` is the CA's with key id `keyId`.
    func isValidSignature(_ signature: [UInt8], for bytes: [UInt8], keyId: String) -> Bool {
        guard let anchor = anchor(keyId: keyId),
              let sig = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
        return anchor.publicKey.isValidSignature(sig, for: bytes)
    }
}
