import Foundation
import RenkeiCore
import RenkeiCrypto

/// The entries of one tenant's audit log in a time range, verified, in forms
/// an auditor can read without Renkei: CSV for a spreadsheet, JSON lines
/// (the log's own lines) for tools.
///
/// Holds only what the log holds: who (account login), from which terminal,
/// what, when and the outcome, and a person only as a blind index, never a
/// number or a name.
public struct AuditExport: Sendable {
    /// The municipality whose log this is.
    public let code: MunicipalityCode
    /// The verified entries with `from <= time < to`, in log order. When the
    /// log has a problem, only entries before it (they verified) are here.
    public let entries: [AuditEntry]
    /// Entries of the whole log (not only the range) that verified while reading.
    public let verifiedEntries: Int
    /// The first chain problem of the whole log, if any. An export with a
    /// problem must be presented as such: entries after it are missing.
    public let problem: AuditProblem?

    /// The CSV columns, in order.
    public static let csvHeader = [
        "seq", "time", "event", "outcome", "actor", "terminal", "requester_code", "target_code",
        "number_index", "request_id", "peer_certificate_sha256", "detail",
    ]

    /// CSV (RFC 4180, UTF-8, CRLF line ends, header row):
    /// seq,time,event,outcome,actor,terminal,requester_code,target_code,
    /// number_index,request_id,peer_certificate_sha256,detail. Absent fields
    /// are empty. No trailer row.
    ///
    /// Spreadsheets run a cell that starts with `=`, `+`, `-` or `@` as a
    /// formula, so a `detail` starting with one of those is written with a
    /// leading `'` (the usual defence against CSV injection); every other
    /// column has a character set that cannot form a formula call.
    public func csv() -> [UInt8] {
        var out = Self.csvLine(Self.csvHeader)
        for e in entries {
            out += Self.csvLine([
                String(e.seq), e.time, e.event.rawValue, e.outcome.rawValue, e.actor ?? "", e.terminal ?? "",
                e.requesterCode ?? "", e.targetCode ?? "", e.numberIndex ?? "", e.requestID ?? "",
                e.peerCertificateSHA256 ?? "", e.detail.map(Self.defused) ?? "",
            ])
        }
        return out
    }

    /// One JSON object per line, exactly as the log stores it (MAC included),
    /// so an auditor with the key could re-check them.
    public func jsonLines() -> [UInt8] {
        var out: [UInt8] = []
        for e in entries { out += e.jsonLine() }
        return out
    }

    static func csvLine(_ fields: [String]) -> [UInt8] {
        var line = ""
        for (i, field) in fields.enumerated() {
            if i > 0 { line += "," }
            if field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }) {
                line += "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            } else {
                line += field
            }
        }
        return Array((line + "\r\n").utf8)
    }

    static func defused(_ text: String) -> String {
        guard let first = text.first, "=+-@".contains(first) else { return text }
        return "'" + text
    }
}

extension AuditLogs {
    /// Reads and verifies the whole audit log of `code` in the audit
    /// directory `directory` and returns its entries with `from <= time < to`
    /// (a nil bound is open).
    ///
    /// Verifies exactly as `AuditVerifier.verify` does (the same code), from
    /// entry 1 to the head file, whatever the range. Reads the files only and
    /// takes no lock, so it runs while a node appends; an append in progress
    /// is at most a note, never a problem. A chain problem does not throw: it
    /// is in `problem`, with the entries before it.
    ///
    /// - Throws: `.notFound` if there is no log (nor head) for `code`;
    ///   `.invalidArgument` (field `maxEntries`) if more than `maxEntries`
    ///   entries fall in the range, or `from` is not before `to`; `.io`.
    public static func export(
        directory: String, code: MunicipalityCode, masterKey: MasterKey, from: Date?, to: Date?,
        maxEntries: Int = 1_000_000
    ) throws(AuditError) -> AuditExport {
        guard maxEntries >= 0 else {
            throw AuditError(.invalidArgument, "maxEntries: must be 0 or more", field: "maxEntries")
        }
        if let from, let to, from >= to {
            throw AuditError(.invalidArgument, "to: the end of the range must be after its start", field: "to")
        }
        var entries: [AuditEntry] = []
        let result = try AuditVerifier.walk(
            path: logPath(directory: directory, code: code), code: code, key: masterKey.auditKey(for: code.rawValue)
        ) { entry throws(AuditError) in
            // Verified entries always have a well-formed time.
            guard let time = AuditTime.date(entry.time) else { return }
            if let from, time < from { return }
            if let to, time >= to { return }
            guard entries.count < maxEntries else {
                throw AuditError(.invalidArgument,
                    "maxEntries: the range holds more than \(maxEntries) entries; export a shorter range", field: "maxEntries")
            }
            entries.append(entry)
        }
        return AuditExport(code: code, entries: entries, verifiedEntries: result.verifiedEntries, problem: result.problem)
    }
}
