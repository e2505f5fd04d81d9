import Foundation

/// The CA's own record of revocations, `DIR/revocations.json` (unsigned, kept
/// beside `ca.key`). `renkei ca revoke` appends to it; `renkei ca crl` signs it
/// into a `RevocationList`.
extension CADirectory {
    /// The revocations recorded so far (empty if none).
    public func revocations() throws(PKIError) -> [RevocationList.Entry] {
        guard PKIFiles.exists(revocationsPath) else { return [] }
        let bytes = try PKIFiles.contents(revocationsPath, what: "revocation record")
        do {
            return try SignedDocument.decoder().decode([RevocationList.Entry].self, from: Data(bytes))
        } catch {
            throw PKIError(.malformedDocument, "revocation record \(revocationsPath) is not a JSON list of entries", cause: error)
        }
    }

    /// Records `serial` as revoked. Returns false (and changes nothing) if it already was.
    @discardableResult
    public func revoke(_ serial: SerialNumber, reason: String?, at time: Date = Date()) throws(PKIError) -> Bool {
        var entries = try revocations()
        guard !entries.contains(where: { $0.serial == serial }) else { return false }
        entries.append(RevocationList.Entry(serial: serial, revokedAt: time, reason: reason))
        let bytes: Data
        do {
            let encoder = SignedDocument.encoder()
            encoder.outputFormatting.insert(.prettyPrinted)
            bytes = try encoder.encode(entries)
        } catch {
            throw PKIError(.io, "could not encode the revocation record", cause: error)
        }
        try PKIFiles.write(Array(bytes) + [UInt8(ascii: "\n")], to: revocationsPath, mode: 0o644, what: "revocation record")
        return true
    }

    /// Signs the recorded revocations into a list valid for `validDays` days from `now`.
    public func signRevocationList(validDays: Int, now: Date = Date()) throws(PKIError) -> [UInt8] {
        let ca = try load()
        return try RevocationList.sign(try revocations(), ca: ca, issuedAt: now,
                                       nextUpdate: now.addingTimeInterval(Double(validDays) * 86_400))
    }
}
