import Foundation
import RenkeiCore

/// What a certificate the federation CA issues should say: who holds it, in
/// which role, for which municipalities, reachable at which names, and when it
/// is valid.
///
/// Validity is explicit so that tests (and operators rehearsing a rollover)
/// can issue certificates that are already expired or not yet valid.
public struct CertificateRequest: Sendable {
    /// The holder's name: the subject CN and the base of the file names
    /// (letters, digits, `.`, `_`, `-`; 1 to 64 characters).
    public var name: String
    /// The holder's role, recorded as `urn:renkei:role:ROLE`.
    public var role: PKIRole
    /// The municipalities the holder speaks for, each recorded as `urn:renkei:lg:CODE`.
    public var municipalityCodes: [MunicipalityCode]
    /// DNS names for TLS server authentication (e.g. `localhost`).
    public var dnsNames: [String]
    /// IPv4 or IPv6 addresses in text form (e.g. `127.0.0.1`, `::1`).
    public var ipAddresses: [String]
    /// Start of validity.
    public var notBefore: Date
    /// End of validity.
    public var notAfter: Date

    /// A request; nothing is validated until the CA issues it.
    public init(name: String, role: PKIRole = .node, municipalityCodes: [MunicipalityCode],
                dnsNames: [String] = [], ipAddresses: [String] = [], notBefore: Date, notAfter: Date) {
        self.name = name
        self.role = role
        self.municipalityCodes = municipalityCodes
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    /// A request valid from five minutes before `now` (for clock skew) for `days` days.
    public init(name: String, role: PKIRole = .node, municipalityCodes: [MunicipalityCode],
                dnsNames: [String] = [], ipAddresses: [String] = [], validDays: Int, now: Date = Date()) {
        self.init(name: name, role: role, municipalityCodes: municipalityCodes, dnsNames: dnsNames,
                  ipAddresses: ipAddresses, notBefore: now.addingTimeInterval(-300),
                  notAfter: now.addingTimeInterval(Double(validDays) * 86_400))
    }

    /// Checks every field; throws `.invalidInput` naming the field.
    func validated() throws(PKIError) -> CertificateRequest {
        try Self.checkName(name, field: "name")
        if role == .node && municipalityCodes.isEmpty {
            throw PKIError(.invalidInput, "codes: a node certificate must carry at least one municipality code")
        }
        for dns in dnsNames where !Self.isDNSName(dns) {
            throw PKIError(.invalidInput, "dns: \"\(dns)\" is not a DNS name (letters, digits, '-', dots; labels of 1 to 63)")
        }
        for ip in ipAddresses where IPAddressText.bytes(ip) == nil {
            throw PKIError(.invalidInput, "ip: \"\(ip)\" is not an IPv4 or IPv6 address")
        }
        guard notAfter > notBefore else {
            throw PKIError(.invalidInput, "validity: notAfter must be later than notBefore")
        }
        var copy = self
        copy.municipalityCodes = Array(Set(municipalityCodes)).sorted()
        return copy
    }

    /// Names become file names and subject CNs: keep them plain.
    static func checkName(_ name: String, field: String) throws(PKIError) {
        let ok = !name.isEmpty && name.utf8.count <= 64 && !name.hasPrefix(".")
            && name.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a)
                    || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
            }
        guard ok else {
            throw PKIError(.invalidInput, "\(field): must be 1 to 64 characters of letters, digits, '.', '_' or '-', not starting with '.'")
        }
    }

    static func isDNSName(_ s: String) -> Bool {
        guard !s.isEmpty, s.utf8.count <= 253 else { return false }
        return s.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { b in
                    (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || b == UInt8(ascii: "-")
                }
        }
    }
}
