import Crypto
import Foundation
import SwiftASN1
import X509

/// The federation certificate authority: a self-signed P-256 certificate and
/// its private key. It issues node certificates, signs the revocation list and
/// signs the directory (one key for all three: the federation has one root of
/// trust, and nodes pin only `ca.pem`).
public struct FederationCA: Sendable {
    /// The CA certificate (basicConstraints CA, keyUsage keyCertSign + cRLSign).
    public let certificate: Certificate
    let privateKey: P256.Signing.PrivateKey

    /// What nodes trust: this CA's certificate, without the key.
    public var trust: FederationTrust { FederationTrust(verified: certificate) }

    /// A CA from a certificate and the key it certifies. Throws `.malformedKey`
    /// if the key does not match the certificate.
    public init(certificate: Certificate, privateKey: P256.Signing.PrivateKey) throws(PKIError) {
        guard Certificate.PublicKey(privateKey.publicKey) == certificate.publicKey else {
            throw PKIError(.malformedKey, "the CA private key does not match the CA certificate \(certificate.subject)")
        }
        self.certificate = certificate
        self.privateKey = privateKey
    }

    /// Creates a new CA with a fresh P-256 key.
    ///
    /// - Parameters:
    ///   - name: The CA's common name, e.g. `Renkei Federation CA`.
    ///   - notBefore: Start of validity.
    ///   - notAfter: End of validity.
    public static func create(name: String, notBefore: Date, notAfter: Date) throws(PKIError) -> FederationCA {
        guard !name.isEmpty, name.utf8.count <= 64 else {
            throw PKIError(.invalidInput, "name: the CA name must be 1 to 64 characters")
        }
        guard notAfter > notBefore else {
            throw PKIError(.invalidInput, "validity: notAfter must be later than notBefore")
        }
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        do {
            let subject = try DistinguishedName {
                OrganizationName("Renkei")
                CommonName(name)
            }
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: publicKey)
            }
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: notBefore, notValidAfter: notAfter,
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions, issuerPrivateKey: Certificate.PrivateKey(key))
            return try FederationCA(certificate: certificate, privateKey: key)
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(.io, "could not create the CA certificate", cause: error)
        }
    }

    /// Creates a new CA valid from five minutes ago for `validDays` days.
    public static func create(name: String, validDays: Int, now: Date = Date()) throws(PKIError) -> FederationCA {
        try create(name: name, notBefore: now.addingTimeInterval(-300),
                   notAfter: now.addingTimeInterval(Double(validDays) * 86_400))
    }

    /// Issues a certificate for `request`, with a fresh P-256 key for the holder.
    ///
    /// The SAN carries `urn:renkei:role:ROLE`, one `urn:renkei:lg:CODE` per
    /// code, the DNS names and the IP addresses. keyUsage digitalSignature
    /// (critical), extendedKeyUsage serverAuth + clientAuth.
    public func issue(_ request: CertificateRequest) throws(PKIError) -> IssuedCertificate {
        let request = try request.validated()
        let key = P256.Signing.PrivateKey()
        let publicKey = Certificate.PublicKey(key.publicKey)
        var names: [GeneralName] = [.uniformResourceIdentifier(request.role.uri)]
        names += request.municipalityCodes.map { .uniformResourceIdentifier(RenkeiURN.municipality($0)) }
        names += request.dnsNames.map { .dnsName($0) }
        names += request.ipAddresses.compactMap { IPAddressText.bytes($0) }.map { .ipAddress(ASN1OctetString(contentBytes: $0[...])) }
        do {
            let subject = try DistinguishedName {
                OrganizationName("Renkei")
                OrganizationalUnitName(request.role.rawValue)
                CommonName(request.name)
            }
            let caKeyId = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
                ?? SubjectKeyIdentifier(hash: certificate.publicKey).keyIdentifier
            let extensions = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth, .clientAuth])
                SubjectAlternativeNames(names)
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: caKeyId)
            }
            let leaf = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
                notValidBefore: request.notBefore, notValidAfter: request.notAfter,
                issuer: certificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: extensions, issuerPrivateKey: Certificate.PrivateKey(privateKey))
            return IssuedCertificate(name: request.name, certificate: leaf, privateKey: key, caCertificate: certificate)
        } catch let error as PKIError {
            throw error
        } catch {
            throw PKIError(.io, "could not issue a certificate for \(request.name)", cause: error)
        }
    }

    /// Signs `bytes` with the CA key: ECDSA P-256 over SHA-256, DER signature.
    func sign(_ bytes: [UInt8]) throws(PKIError) -> [UInt8] {
        do {
            return Array(try privateKey.signature(for: bytes).derRepresentation)
        } catch {
            throw PKIError(.io, "could not sign with the CA key", cause: error)
        }
    }
}

/// A certificate just issued, with the holder's new private key.
public struct IssuedCertificate: Sendable {
    /// The holder's name (file base name).
    public let name: String
    /// The issued certificate.
    public let certificate: Certificate
    /// The holder's private key. Write it with `write(to:)`; never print it.
    public let privateKey: P256.Signing.PrivateKey
    /// The issuing CA's certificate.
    public let caCertificate: Certificate

    /// What the certificate says.
    public var info: PeerCertificateInfo { get throws(PKIError) { try PeerCertificateInfo(certificate) } }

    /// Writes `DIR/NAME.pem` (the certificate), `DIR/NAME.key` (0600) and
    /// `DIR/ca.pem`, creating DIR if needed. Refuses to overwrite NAME.key or NAME.pem.
    public func write(to directory: String) throws(PKIError) {
        try PKIFiles.makeDirectory(directory)
        let certPath = directory + "/" + name + ".pem"
        let keyPath = directory + "/" + name + ".key"
        for path in [certPath, keyPath] where PKIFiles.exists(path) {
            throw PKIError(.fileExists, "\(path) already exists; refusing to overwrite it (remove it to re-issue)")
        }
        try PrivateKeyFile.write(privateKey, to: keyPath)
        try PKIFiles.write(Array(try CertificateCoding.pem(certificate).utf8), to: certPath, mode: 0o644, what: "certificate")
        try PKIFiles.write(Array(try CertificateCoding.pem(caCertificate).utf8), to: directory + "/ca.pem", mode: 0o644, what: "CA certificate")
    }
}
