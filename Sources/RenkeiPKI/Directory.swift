import Foundation
import RenkeiCore

/// Where to reach the node that speaks for one municipality, and which
/// certificate key it must present.
public struct DirectoryEntry: Sendable, Hashable, Codable {
    /// The node's name (its certificate's CN).
    public let nodeName: String
    /// Host name or IP address of the node's peer endpoint.
    public let host: String
    /// TCP port of the node's peer endpoint.
    public let port: Int
    /// SHA-256 of the node certificate's SubjectPublicKeyInfo, lowercase hex.
    public let spkiSHA256: String

    /// An entry; see `DirectoryInput` for validation.
    public init(nodeName: String, host: String, port: Int, spkiSHA256: String) {
        self.nodeName = nodeName
        self.host = host
        self.port = port
        self.spkiSHA256 = spkiSHA256
    }

    /// `host:port`, with brackets around an IPv6 host.
    public var endpoint: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// A verified federation directory: municipality code → node endpoint and
/// pinned key. Obtain one only from `SignedDirectory.verify`.
public struct Directory: Sendable {
    /// The signing CA's subject.
    public let issuer: String
    /// When it was signed.
    public let issuedAt: Date
    /// After this it is refused.
    public let expiresAt: Date
    /// Every code and its entry.
    public let entries: [MunicipalityCode: DirectoryEntry]

    init(issuer: String, issuedAt: Date, expiresAt: Date, entries: [MunicipalityCode: DirectoryEntry]) {
        self.issuer = issuer
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.entries = entries
    }

    /// The node that speaks for `code`, or nil if the directory does not list it.
    public func entry(for code: MunicipalityCode) -> DirectoryEntry? { entries[code] }

    /// The listed codes, sorted.
    public var codes: [MunicipalityCode] { entries.keys.sorted() }
}
