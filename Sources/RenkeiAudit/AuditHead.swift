import Crypto
import Foundation
import RenkeiCrypto

/// The head file `<code>.head`: the sequence number and MAC of the last
/// entry, authenticated with the audit key, replaced atomically after every
/// append.
///
/// The chain alone cannot show that entries were cut off the END of a log: a
/// shortened log is still a valid chain. The head remembers how far the log
/// went, so a verifier compares the two.
///
/// Residual limit: someone who can write both files and keeps an older copy
/// of them can roll BOTH back to that older, consistent state, and nothing
/// here detects it (every MAC in the old copy is genuine). Detecting that
/// needs the head anchored somewhere the attacker cannot rewrite, for
/// example shipped to the vault (issue 5) or countersigned by a peer.
struct AuditHead: Equatable {
    let seq: UInt64
    let mac: [UInt8]

    private struct Wire: Codable {
        let seq: UInt64
        let mac: String
        let headMac: String
    }

    /// Whether the file's MAC verified under the key; an unverified head is
    /// still returned so a verifier can tell a wrong key from an edit.
    struct Read {
        let head: AuditHead
        let authentic: Bool
    }

    static func path(forLog logPath: String) -> String {
        (logPath.hasSuffix(".log") ? String(logPath.dropLast(4)) : logPath) + ".head"
    }

    /// Nil if there is no head file.
    static func read(path: String, code: String, key: SymmetricKey) throws(AuditError) -> Read? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let bytes: [UInt8]
        do {
            bytes = try SecureFile.readAll(atPath: path)
        } catch {
            throw AuditError(.io, "cannot read the audit head file \(path)", cause: error as? RenkeiCrypto.CryptoError)
        }
        guard let wire = try? JSONDecoder().decode(Wire.self, from: Data(bytes)),
              let mac = AuditHex.decode(wire.mac), mac.count == 32,
              let headMac = AuditHex.decode(wire.headMac), headMac.count == 32
        else {
            throw AuditError(.corrupted, "the audit head file \(path) is not in the head format")
        }
        let head = AuditHead(seq: wire.seq, mac: mac)
        let expected = AuditChain.headMAC(seq: wire.seq, mac: mac, code: code, key: key)
        return Read(head: head, authentic: AuditChain.equal(expected, headMac))
    }

    /// Replaces the head file atomically (temporary file, fsync, rename, fsync of the directory).
    func write(path: String, code: String, key: SymmetricKey) throws(AuditError) {
        let headMac = AuditChain.headMAC(seq: seq, mac: mac, code: code, key: key)
        let text = "{\"seq\":\(seq),\"mac\":\"\(AuditHex.encode(mac))\",\"headMac\":\"\(AuditHex.encode(headMac))\"}\n"
        do {
            try SecureFile.writeAtomically(Array(text.utf8), toPath: path, mode: 0o600)
        } catch {
            throw AuditError(.io, "cannot write the audit head file \(path)", cause: error as? RenkeiCrypto.CryptoError)
        }
    }
}
