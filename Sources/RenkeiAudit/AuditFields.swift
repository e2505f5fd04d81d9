/// The rules every entry field follows, checked before a line is written and
/// again when one is read back. An error names the field, never the value.
enum AuditFields {
    static func check(_ e: AuditEntry) throws(AuditError) {
        guard e.seq >= 1 else { throw invalid("seq", "must be 1 or more") }
        guard AuditTime.isWellFormed(e.time) else {
            throw invalid("time", "must be ISO 8601 UTC with milliseconds, e.g. 2026-01-31T09:00:00.000Z")
        }
        try token(e.event.rawValue, "event")
        try token(e.outcome.rawValue, "outcome")
        if let id = e.requestID {
            guard !id.isEmpty, id.utf8.count <= AuditLimits.requestIDBytes else {
                throw invalid("requestID", "must be 1-\(AuditLimits.requestIDBytes) bytes")
            }
            guard id.utf8.allSatisfy({ isAlnum($0) || $0 == UInt8(ascii: "-") }) else {
                throw invalid("requestID", "may contain only A-Z, a-z, 0-9 and '-'")
            }
        }
        for (value, name) in [(e.requesterCode, "requesterCode"), (e.targetCode, "targetCode")] {
            guard let value else { continue }
            guard value.utf8.count == AuditLimits.codeBytes, value.utf8.allSatisfy(isDigit) else {
                throw invalid(name, "must be exactly \(AuditLimits.codeBytes) digits")
            }
        }
        for (value, name) in [(e.numberIndex, "numberIndex"), (e.peerCertificateSHA256, "peerCertificateSHA256")] {
            guard let value else { continue }
            try hexDigest(value, name)
        }
        if let detail = e.detail {
            guard !detail.isEmpty, detail.utf8.count <= AuditLimits.detailBytes else {
                throw invalid("detail", "must be 1-\(AuditLimits.detailBytes) UTF-8 bytes")
            }
            var previous: UInt8 = 0
            for byte in detail.utf8 {
                // C0, DEL and C1 (U+0080-U+009F, encoded 0xC2 0x80-0x9F).
                if byte < 0x20 || byte == 0x7F || (previous == 0xC2 && byte >= 0x80 && byte <= 0x9F) {
                    throw invalid("detail", "must not contain control characters")
                }
                previous = byte
            }
        }
        if let actor = e.actor {
            guard !actor.isEmpty, actor.utf8.count <= AuditLimits.actorBytes else {
                throw invalid("actor", "must be 1-\(AuditLimits.actorBytes) characters")
            }
            guard actor.utf8.allSatisfy({ isDigit($0) || isLower($0) || $0 == dot || $0 == underscore || $0 == hyphen }) else {
                throw invalid("actor", "may contain only a-z, 0-9, '.', '_' and '-'")
            }
        }
        if let terminal = e.terminal {
            guard !terminal.isEmpty, terminal.utf8.count <= AuditLimits.terminalBytes else {
                throw invalid("terminal", "must be 1-\(AuditLimits.terminalBytes) characters")
            }
            guard terminal.utf8.allSatisfy({ isAlnum($0) || $0 == dot || $0 == underscore || $0 == colon || $0 == hyphen }) else {
                throw invalid("terminal", "may contain only A-Z, a-z, 0-9, '.', '_', ':' and '-'")
            }
        }
        try hexDigest(e.mac, "mac")
    }

    private static let dot = UInt8(ascii: "."), underscore = UInt8(ascii: "_")
    private static let colon = UInt8(ascii: ":"), hyphen = UInt8(ascii: "-")

    static func hexDigest(_ value: String, _ name: String) throws(AuditError) {
        guard value.utf8.count == AuditLimits.hexDigestCharacters, value.utf8.allSatisfy(isLowerHex) else {
            throw invalid(name, "must be exactly \(AuditLimits.hexDigestCharacters) lowercase hex characters")
        }
    }

    static func token(_ value: String, _ name: String) throws(AuditError) {
        guard !value.isEmpty, value.utf8.count <= AuditLimits.tokenBytes else {
            throw invalid(name, "must be 1-\(AuditLimits.tokenBytes) bytes")
        }
        guard value.utf8.allSatisfy({ isDigit($0) || isLower($0) || $0 == hyphen }) else {
            throw invalid(name, "may contain only a-z, 0-9 and '-'")
        }
    }

    static func invalid(_ field: String, _ rule: String) -> AuditError {
        AuditError(.invalidArgument, "\(field): \(rule)", field: field)
    }

    static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    static func isLower(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
    static func isLowerHex(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x61 && b <= 0x66) }
    static func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) }
}
