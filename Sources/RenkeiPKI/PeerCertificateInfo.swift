import Foundation
import RenkeiCore
import SwiftASN1
import X509

/// What a Renkei certificate says about its holder, read from the
/// certificate alone (no trust decision: see `PeerVerifier` for that).
///
/// The TLS layer uses it to check that the server's certificate carries the
/// target code, and that a client's certificate carries the requester code.
public struct PeerCertificateInfo: Sendable, Hashable {
    /// The subject common name (the node's name).
    public let name: String
    /// The role from `urn:renkei:role:ROLE`; nil for certificates without one (the CA).
    public let role: PKIRole?
    /// The codes from `urn:renkei:lg:CODE` SAN URIs, sorted, without duplicates.
    public let municipalityCodes: [MunicipalityCode]
    /// DNS names in the SAN.
    public let dnsNames: [String]
    /// IP addresses in the SAN, as text.
    public let ipAddresses: [String]
    /// Start of validity.
    public let notBefore: Date
    /// End of validity.
    public let notAfter: Date
    /// The serial number.
    public let serial: SerialNumber
    /// SHA-256 of the SubjectPublicKeyInfo, lowercase hex (what the directory pins).
    public let spkiSHA256: String
    /// The issuer, as a distinguished name string.
    public let issuer: String

    /// Reads `certificate`. Throws `.malformedCertificate` if a Renkei SAN URI
    /// holds an invalid code (bad check digit) or an unknown role, or if
    /// the certificate carries more than one role.
    public init(_ certificate: Certificate) throws(PKIError) {
        let where_ = "certificate \(certificate.subject) serial \(SerialNumber(certificate.serialNumber))"
        let san: SubjectAlternativeNames?
        do {
            san = try certificate.extensions.subjectAlternativeNames
        } catch {
            throw PKIError(.malformedCertificate, "\(where_): unreadable subjectAltName", cause: error)
        }
        var codes = Set<MunicipalityCode>(), roles: [PKIRole] = [], dns: [String] = [], ips: [String] = []
        for name in san ?? SubjectAlternativeNames() {
            switch name {
            case .uniformResourceIdentifier(let uri):
                do throws(PKIError) {
                    switch try RenkeiURN.parse(uri) {
                    case .municipality(let code): codes.insert(code)
                    case .role(let role): roles.append(role)
                    case .other: break
                    }
                } catch {
                    throw PKIError(error.code, "\(where_): \(error.message)")
                }
            case .dnsName(let d): dns.append(d)
            case .ipAddress(let octets): ips.append(IPAddressText.text(octets.bytes) ?? hexString(octets.bytes))
            default: break
            }
        }
        guard roles.count <= 1 else {
            throw PKIError(.malformedCertificate, "\(where_): carries \(roles.count) role URIs; exactly one is allowed")
        }
        self.name = certificate.subject.commonName ?? ""
        self.role = roles.first
        self.municipalityCodes = codes.sorted()
        self.dnsNames = dns
        self.ipAddresses = ips
        self.notBefore = certificate.notValidBefore
        self.notAfter = certificate.notValidAfter
        self.serial = SerialNumber(certificate.serialNumber)
        self.spkiSHA256 = SPKIHash.sha256Hex(of: certificate)
        self.issuer = certificate.issuer.description
    }

    /// Reads a PEM or DER certificate; `source` names the bytes in errors.
    public init(bytes: [UInt8], source: String = "certificate") throws(PKIError) {
        try self.init(try CertificateCoding.certificate(from: bytes, source: source))
    }

    /// Whether the certificate speaks for `code`.
    public func carries(_ code: MunicipalityCode) -> Bool { municipalityCodes.contains(code) }
}

/// The identity a node presents: the same reading as `PeerCertificateInfo`.
public typealias NodeIdentity = PeerCertificateInfo

extension DistinguishedName {
    /// The first common name, if any.
    var commonName: String? {
        for rdn in self {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                if let s = String(attribute.value) { return s }
            }
        }
        return nil
    }
}
