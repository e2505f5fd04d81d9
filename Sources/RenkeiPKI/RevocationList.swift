import Foundation

/// The federation's signed list of revoked certificate serials.
///
/// The payload (inside a `SignedDocument` envelope) is
/// `{"type":"renkei.revocation-list.v1","issuer":…,"issuedAt":…,"nextUpdate":…,"revoked":[{"serial":…,"revokedAt":…,"reason":…}]}`.
/// Nodes load it with `verify(_:ca:now:)` and refuse one past `nextUpdate`.
public struct RevocationList: Sendable {
    /// The document type in the payload.
    public static let type = "renkei.revocation-list.v1"

    /// One revoked certificate.
    public struct Entry: Sendable, Hashable, Codable {
        /// The revoked serial.
        public let serial: SerialNumber
        /// When it was revoked.
        public let revokedAt: Date
        /// Why, as the operator wrote it.
        public let reason: String?

        /// An entry.
        public init(serial: SerialNumber, revokedAt: Date, reason: String?) {
            self.serial = serial
            self.revokedAt = revokedAt.wholeSeconds
            self.reason = reason
        }
    }

    struct Payload: Codable {
        var type: String
        var issuer: String
        var issuedAt: Date
        var nextUpdate: Date
        var revoked: [Entry]
    }

    /// The signing CA's subject.
    public let issuer: String
    /// When the list was signed.
    public let issuedAt: Date
    /// After this the list is stale and refused.
    public let nextUpdate: Date
    /// The revoked certificates, by serial.
    public let entries: [Entry]
    private let serials: Set<SerialNumber>

    init(_ payload: Payload) {
        issuer = payload.issuer
        issuedAt = payload.issuedAt
        nextUpdate = payload.nextUpdate
        entries = payload.revoked
        serials = Set(payload.revoked.map(\.serial))
    }

    /// Whether `serial` is revoked.
    public func isRevoked(_ serial: SerialNumber) -> Bool { serials.contains(serial) }

    /// Signs a list of `entries` with the CA key, valid from `issuedAt` until `nextUpdate`.
    public static func sign(_ entries: [Entry], ca: FederationCA, issuedAt: Date = Date(), nextUpdate: Date) throws(PKIError) -> [UInt8] {
        guard nextUpdate > issuedAt else {
            throw PKIError(.invalidInput, "nextUpdate must be later than issuedAt")
        }
        let payload = Payload(type: type, issuer: ca.certificate.subject.description, issuedAt: issuedAt.wholeSeconds,
                              nextUpdate: nextUpdate.wholeSeconds, revoked: entries.sorted { $0.serial < $1.serial })
        return try SignedDocument.sign(payload, ca: ca, what: "revocation list")
    }

    /// Verifies a signed list against the federation CA and returns it.
    ///
    /// Throws `.unsigned`, `.malformedDocument`, `.wrongKey`,
    /// `.signatureInvalid`, `.wrongDocumentType`, or `.documentExpired` when
    /// `now` is past `nextUpdate`.
    public static func verify(_ bytes: [UInt8], ca trust: FederationTrust, now: Date = Date()) throws(PKIError) -> RevocationList {
        let payload = try SignedDocument.open(bytes, trust: trust, type: type, as: Payload.self, what: "revocation list")
        guard now <= payload.nextUpdate else {
            throw PKIError(.documentExpired, "the revocation list's nextUpdate \(payload.nextUpdate) has passed; fetch a new one (renkei ca crl)")
        }
        return RevocationList(payload)
    }

    /// Reads and verifies the list in the file at `path`.
    public static func load(contentsOf path: String, ca trust: FederationTrust, now: Date = Date()) throws(PKIError) -> RevocationList {
        let bytes = try PKIFiles.contents(path, what: "revocation list")
        do throws(PKIError) {
            return try verify(bytes, ca: trust, now: now)
        } catch {
            throw PKIError(error.code, "\(path): \(error.message)", cause: error.cause)
        }
    }
}
