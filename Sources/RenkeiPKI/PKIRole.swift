/// What a certificate's holder does in the federation, recorded in its SAN
/// as the URI `urn:renkei:role:ROLE`.
public enum PKIRole: String, Sendable, Hashable, CaseIterable, Codable {
    /// A municipal node: serves and sends transfer inquiries for the codes it carries.
    case node
    /// A backup vault at a remote site.
    case vault
    /// A disaster-recovery operator.
    case drOperator = "dr-operator"

    /// The SAN URI that records this role.
    public var uri: String { RenkeiURN.rolePrefix + rawValue }
}
