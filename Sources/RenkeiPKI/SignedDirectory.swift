import Foundation
import RenkeiCore

/// The federation directory, signed by the federation CA key (the same key
/// that issues node certificates, so a node needs to trust only `ca.pem`).
///
/// The payload (inside a `SignedDocument` envelope) is sorted-keys JSON:
/// `{"type":"renkei.directory.v1","issuer":…,"issuedAt":…,"expiresAt":…,"entries":{"322016":{"host":…,"nodeName":…,"port":…,"spkiSHA256":…}}}`.
public enum SignedDirectory {
    /// The document type in the payload.
    public static let type = "renkei.directory.v1"

    struct Payload: Codable {
        var type: String
        var issuer: String
        var issuedAt: Date
        var expiresAt: Date
        var entries: [String: DirectoryEntry]
    }

    /// Signs `entries` with the CA key, valid from `issuedAt` to `expiresAt`.
    public static func sign(_ entries: [MunicipalityCode: DirectoryEntry], ca: FederationCA,
                            issuedAt: Date = Date(), expiresAt: Date) throws(PKIError) -> [UInt8] {
        guard expiresAt > issuedAt else { throw PKIError(.invalidInput, "expiresAt must be later than issuedAt") }
        guard !entries.isEmpty else { throw PKIError(.invalidInput, "the directory lists no municipality") }
        var wire: [String: DirectoryEntry] = [:]
        for (code, entry) in entries { wire[code.rawValue] = entry }
        let payload = Payload(type: type, issuer: ca.certificate.subject.description, issuedAt: issuedAt.wholeSeconds,
                              expiresAt: expiresAt.wholeSeconds, entries: wire)
        return try SignedDocument.sign(payload, ca: ca, what: "directory")
    }

    /// Verifies a signed directory against the federation CA at `now`.
    ///
    /// Throws `PKIError` with code `.unsigned` (plain JSON), `.malformedDocument`,
    /// `.wrongKey` (signed by another key), `.signatureInvalid` (any byte
    /// altered), `.wrongDocumentType`, `.documentExpired` (past `expiresAt`) or
    /// `.documentNotYetValid` (`issuedAt` more than five minutes ahead of `now`).
    public static func verify(_ bytes: [UInt8], trust: FederationTrust, now: Date = Date()) throws(PKIError) -> Directory {
        let payload = try SignedDocument.open(bytes, trust: trust, type: type, as: Payload.self, what: "directory")
        guard now <= payload.expiresAt else {
            throw PKIError(.documentExpired, "the directory expired at \(payload.expiresAt); get a freshly signed one (renkei directory sign)")
        }
        guard payload.issuedAt <= now.addingTimeInterval(300) else {
            throw PKIError(.documentNotYetValid, "the directory is issued at \(payload.issuedAt), in the future; check the clock")
        }
        var entries: [MunicipalityCode: DirectoryEntry] = [:]
        for (text, entry) in payload.entries {
            do throws(ValidationError) {
                entries[try MunicipalityCode(text, field: FieldName("directory entries"))] = entry
            } catch {
                throw PKIError(.malformedDocument, "the directory's signed payload: \(error.description)")
            }
        }
        return Directory(issuer: payload.issuer, issuedAt: payload.issuedAt, expiresAt: payload.expiresAt, entries: entries)
    }

    /// Reads and verifies the signed directory in the file at `path`.
    public static func load(contentsOf path: String, trust: FederationTrust, now: Date = Date()) throws(PKIError) -> Directory {
        let bytes = try PKIFiles.contents(path, what: "signed directory")
        do throws(PKIError) {
            return try verify(bytes, trust: trust, now: now)
        } catch {
            throw PKIError(error.code, "\(path): \(error.message)", cause: error.cause)
        }
    }
}
