import Foundation
import RenkeiCore

/// One line of an audit log, as written and as read back.
///
/// On disk it is a JSON object on one line, keys in the order of the
/// properties below, absent optionals left out. The MAC does not cover the
/// JSON text but `canonicalBytes(code:)`, which is independent of key order,
/// whitespace and escaping, so any JSON reader can re-derive it.
public struct AuditEntry: Sendable, Equatable {
    /// 1, 2, 3… per tenant, without gaps.
    public let seq: UInt64
    /// ISO 8601, UTC, milliseconds: `2026-11-28T00:20:14.123Z`.
    public let time: String
    public let event: AuditEvent
    public let requestID: String?
    public let requesterCode: String?
    public let targetCode: String?
    /// Blind index of the Individual Number, hex. Never the number.
    public let numberIndex: String?
    public let outcome: AuditOutcome
    public let peerCertificateSHA256: String?
    public let detail: String?
    /// The operator account's login, if an operator acted.
    public let actor: String?
    /// The operator's terminal, if known.
    public let terminal: String?
    /// HMAC-SHA256(audit key, previous entry's mac ‖ canonical bytes), hex.
    public let mac: String

    init(seq: UInt64, time: String, record: AuditRecord, mac: String) {
        self.init(seq: seq, time: time, event: record.event, requestID: record.requestID,
                  requesterCode: record.requesterCode?.rawValue, targetCode: record.targetCode?.rawValue,
                  numberIndex: record.numberIndex, outcome: record.outcome,
                  peerCertificateSHA256: record.peerCertificateSHA256, detail: record.detail,
                  actor: record.actor, terminal: record.terminal, mac: mac)
    }

    init(seq: UInt64, time: String, event: AuditEvent, requestID: String?, requesterCode: String?,
         targetCode: String?, numberIndex: String?, outcome: AuditOutcome, peerCertificateSHA256: String?,
         detail: String?, actor: String? = nil, terminal: String? = nil, mac: String) {
        self.seq = seq
        self.time = time
        self.event = event
        self.requestID = requestID
        self.requesterCode = requesterCode
        self.targetCode = targetCode
        self.numberIndex = numberIndex
        self.outcome = outcome
        self.peerCertificateSHA256 = peerCertificateSHA256
        self.detail = detail
        self.actor = actor
        self.terminal = terminal
        self.mac = mac
    }

    func with(mac: String) -> AuditEntry {
        AuditEntry(seq: seq, time: time, event: event, requestID: requestID, requesterCode: requesterCode,
                   targetCode: targetCode, numberIndex: numberIndex, outcome: outcome,
                   peerCertificateSHA256: peerCertificateSHA256, detail: detail, actor: actor, terminal: terminal,
                   mac: mac)
    }

    // MARK: Canonical form

    /// The bytes the MAC covers: a domain label, then every field in a fixed
    /// order, each as 0x00 (absent) or 0x01 ‖ UInt32 big-endian length ‖ UTF-8.
    /// `actor` and `terminal` come last, and only when at least one of them is
    /// present: an entry without both gives exactly the bytes of the format
    /// before they existed, so logs written then still verify. Removing them
    /// from an entry that has them changes the bytes, so the MAC breaks.
    /// The tenant code is included too, so an entry cannot be replayed in
    /// another tenant's log even where the chain would otherwise line up.
    public func canonicalBytes(code: String) -> [UInt8] {
        var out = Array("renkei.audit.entry.v1".utf8)
        out.append(0)
        func field(_ value: String?) {
            guard let value else { out.append(0); return }
            out.append(1)
            let count = UInt32(value.utf8.count)
            out.append(contentsOf: [UInt8(count >> 24), UInt8(truncatingIfNeeded: count >> 16),
                                    UInt8(truncatingIfNeeded: count >> 8), UInt8(truncatingIfNeeded: count)])
            out.append(contentsOf: value.utf8)
        }
        field(code)
        field(String(seq))
        field(time)
        field(event.rawValue)
        field(requestID)
        field(requesterCode)
        field(targetCode)
        field(numberIndex)
        field(outcome.rawValue)
        field(peerCertificateSHA256)
        field(detail)
        if actor != nil || terminal != nil {
            field(actor)
            field(terminal)
        }
        return out
    }

    // MARK: JSON line

    /// The entry as one JSON line, newline included.
    func jsonLine() -> [UInt8] {
        var out = "{\"seq\":\(seq),\"time\":" + JSONText.quoted(time) + ",\"event\":" + JSONText.quoted(event.rawValue)
        func add(_ key: String, _ value: String?) {
            guard let value else { return }
            out += ",\"\(key)\":" + JSONText.quoted(value)
        }
        add("requestID", requestID)
        add("requesterCode", requesterCode)
        add("targetCode", targetCode)
        add("numberIndex", numberIndex)
        add("outcome", outcome.rawValue)
        add("peerCertificateSHA256", peerCertificateSHA256)
        add("detail", detail)
        add("actor", actor)
        add("terminal", terminal)
        add("mac", mac)
        out += "}\n"
        return Array(out.utf8)
    }

    /// Parses one line (without its newline) and checks every field's bounds.
    /// The MAC is not checked here; that needs the chain.
    static func parse(_ line: ArraySlice<UInt8>) throws(AuditError) -> AuditEntry {
        guard line.count <= AuditLimits.maxLineBytes else {
            throw AuditError(.corrupted, "the line is longer than \(AuditLimits.maxLineBytes) bytes")
        }
        let wire: WireEntry
        do {
            wire = try JSONDecoder().decode(WireEntry.self, from: Data(line))
        } catch let error as AuditError {
            throw error
        } catch {
            throw AuditError(.corrupted, "the line is not a JSON audit entry")
        }
        let entry = AuditEntry(seq: wire.seq, time: wire.time, event: AuditEvent(rawValue: wire.event),
                               requestID: wire.requestID, requesterCode: wire.requesterCode,
                               targetCode: wire.targetCode, numberIndex: wire.numberIndex,
                               outcome: AuditOutcome(rawValue: wire.outcome),
                               peerCertificateSHA256: wire.peerCertificateSHA256, detail: wire.detail,
                               actor: wire.actor, terminal: wire.terminal, mac: wire.mac)
        do throws(AuditError) {
            try AuditFields.check(entry)
        } catch {
            throw AuditError(.corrupted, "field \(error.field ?? "?") is out of bounds: \(error.message)", field: error.field)
        }
        return entry
    }
}

/// The JSON shape, decoded strictly: a key that is not an entry field makes
/// the line unparseable, so nothing unauthenticated can ride along in the file.
private struct WireEntry: Decodable {
    let seq: UInt64
    let time: String
    let event: String
    let requestID: String?
    let requesterCode: String?
    let targetCode: String?
    let numberIndex: String?
    let outcome: String
    let peerCertificateSHA256: String?
    let detail: String?
    let actor: String?
    let terminal: String?
    let mac: String

    enum CodingKeys: String, CodingKey, CaseIterable {
        case seq, time, event, requestID, requesterCode, targetCode, numberIndex, outcome, peerCertificateSHA256, detail
        case actor, terminal, mac
    }

    struct AnyKey: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    init(from decoder: any Decoder) throws {
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(CodingKeys.allCases.map(\.rawValue))
        for key in all.allKeys where !known.contains(key.stringValue) {
            throw AuditError(.corrupted, "the line has a field that is not part of an audit entry")
        }
        let c = try decoder.container(keyedBy: CodingKeys.self)
        seq = try c.decode(UInt64.self, forKey: .seq)
        time = try c.decode(String.self, forKey: .time)
        event = try c.decode(String.self, forKey: .event)
        requestID = try c.decodeIfPresent(String.self, forKey: .requestID)
        requesterCode = try c.decodeIfPresent(String.self, forKey: .requesterCode)
        targetCode = try c.decodeIfPresent(String.self, forKey: .targetCode)
        numberIndex = try c.decodeIfPresent(String.self, forKey: .numberIndex)
        outcome = try c.decode(String.self, forKey: .outcome)
        peerCertificateSHA256 = try c.decodeIfPresent(String.self, forKey: .peerCertificateSHA256)
        detail = try c.decodeIfPresent(String.self, forKey: .detail)
        actor = try c.decodeIfPresent(String.self, forKey: .actor)
        terminal = try c.decodeIfPresent(String.self, forKey: .terminal)
        mac = try c.decode(String.self, forKey: .mac)
    }
}

/// Minimal JSON string writing: the values are already free of control
/// characters (checked by `AuditFields`), so only `"` and `\` need escaping;
/// the rest, including non-ASCII, is written as UTF-8.
enum JSONText {
    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case _ where scalar.value < 0x20:
                // Unreachable for checked fields; kept so the output is valid JSON regardless.
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
