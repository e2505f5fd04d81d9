import RenkeiCore

/// The URIs Renkei puts in a certificate's subjectAltName.
public enum RenkeiURN {
    /// Prefix of the URI naming a municipality the holder speaks for: `urn:renkei:lg:322016`.
    public static let municipalityPrefix = "urn:renkei:lg:"
    /// Prefix of the URI naming the holder's role: `urn:renkei:role:node`.
    public static let rolePrefix = "urn:renkei:role:"

    /// `urn:renkei:lg:CODE`.
    public static func municipality(_ code: MunicipalityCode) -> String { municipalityPrefix + code.rawValue }

    /// Classifies one SAN URI. Throws `.malformedCertificate` for a Renkei URI
    /// whose code or role is invalid; other URIs are `.other`.
    static func parse(_ uri: String) throws(PKIError) -> Parsed {
        if uri.hasPrefix(municipalityPrefix) {
            let text = String(uri.dropFirst(municipalityPrefix.count))
            do throws(ValidationError) {
                return .municipality(try MunicipalityCode(text, field: FieldName("subjectAltName URI urn:renkei:lg")))
            } catch {
                throw PKIError(.malformedCertificate, "certificate SAN URI \(uri): \(error.message)")
            }
        }
        if uri.hasPrefix(rolePrefix) {
            let text = String(uri.dropFirst(rolePrefix.count))
            guard let role = PKIRole(rawValue: text) else {
                throw PKIError(.malformedCertificate,
                    "certificate SAN URI \(uri): unknown role (known: \(PKIRole.allCases.map(\.rawValue).joined(separator: ", ")))")
            }
            return .role(role)
        }
        return .other
    }

    enum Parsed {
        case municipality(MunicipalityCode)
        case role(PKIRole)
        case other
    }
}
