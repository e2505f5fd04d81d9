import Crypto
import RenkeiCore

/// Where a log first fails verification, and why.
public struct AuditProblem: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable {
        /// The line is not a well-formed entry (not JSON, a missing or unknown field, a field out of bounds).
        case unparseable
        /// The entry's MAC does not match its content and the entry before it: a field or the MAC was changed.
        case edited
        /// One or more entries are missing here (a gap in the sequence).
        case removed
        /// Entries are out of order, or one appears twice.
        case reordered
        /// No entry verifies: the log was written under another master key (or everything was rewritten).
        case wrongKey = "wrong-key"
        /// The head file says the log went further: entries were removed from the end.
        case truncated
        /// The head file is missing, fails its MAC, or disagrees with the log.
        case headMismatch = "head-mismatch"
    }

    /// The entry expected at this position (1-based sequence number).
    public let entry: UInt64
    /// The 1-based line of the log file (for a problem at the end, the line after the last).
    public let line: Int
    public let reason: Reason
    /// What exactly is wrong, for the operator. Never quotes field values.
    public let message: String

    /// `entry N (line L): message`.
    public var description: String { "entry \(entry) (line \(line)): \(message)" }
}

/// The result of verifying one log.
public struct AuditReport: Sendable {
    public let path: String
    public let code: MunicipalityCode
    /// Entries that verified, from the start up to the first problem.
    public let verifiedEntries: Int
    /// The last entries that verified, oldest first, as many as asked for.
    public let lastEntries: [AuditEntry]
    /// The first problem, or nil when the log is intact.
    public let problem: AuditProblem?
    /// Observations that are not tampering: an incomplete last line left by
    /// a crash, a head file behind the log because an append was in progress.
    public let notes: [String]

    public var isIntact: Bool { problem == nil }
}

/// Checks a whole audit log: every line parses, sequence numbers run 1, 2,
/// 3… without gaps, every MAC chains from the one before (entry 1 from the
/// tenant's genesis value), and the head file agrees with the end.
///
/// Reads only the two files, so it runs while a node appends to them. The
/// head is read before the log: a concurrent append can then only make the
/// log longer than the head, which is reported as a note, never as removal.
///
/// Detects: an edited field or MAC, a removed entry (middle or end), reordered
/// or duplicated lines, lines from another tenant's log, a wrong master key.
/// Does not detect: both files rolled back together to an older state that
/// was once genuine (see `AuditHead`).
public enum AuditVerifier {
    public static func verify(
        path: String, code: MunicipalityCode, key: SymmetricKey, keepingLast keep: Int = 0
    ) throws(AuditError) -> AuditReport {
        var kept: [AuditEntry] = []
        let result = try walk(path: path, code: code, key: key) { entry throws(AuditError) in
            guard keep > 0 else { return }
            kept.append(entry)
            if kept.count > keep { kept.removeFirst() }
        }
        return AuditReport(path: path, code: code, verifiedEntries: result.verifiedEntries, lastEntries: kept,
                           problem: result.problem, notes: result.notes)
    }

    /// What `walk` found.
    struct Walk {
        let verifiedEntries: Int
        let problem: AuditProblem?
        let notes: [String]
    }

    /// The verification itself, shared by `verify` and `AuditLogs.export`:
    /// checks the whole log and hands each entry that verified, in order, to
    /// `visit` (nothing after the first problem). An error thrown by `visit`
    /// ends the walk and is rethrown.
    static func walk(
        path: String, code: MunicipalityCode, key: SymmetricKey,
        visit: (AuditEntry) throws(AuditError) -> Void
    ) throws(AuditError) -> Walk {
        let codeText = code.rawValue
        var headRead: AuditHead.Read?
        var headMalformed = false
        do throws(AuditError) {
            headRead = try AuditHead.read(path: AuditHead.path(forLog: path), code: codeText, key: key)
        } catch {
            guard error.code == .corrupted else { throw error }
            headMalformed = true
        }
        let bytes: [UInt8]
        do throws(AuditError) {
            bytes = try AuditFile.readAll(path)
        } catch {
            // A deleted log whose head file remains is the extreme case of
            // entries removed from the end.
            guard error.code == .notFound, let headRead else { throw error }
            return Walk(verifiedEntries: 0, problem: AuditProblem(
                entry: 1, line: 1, reason: headRead.authentic ? .truncated : .headMismatch,
                message: "the log file is missing, but its head file records \(headRead.head.seq) entries: the log was deleted"),
                notes: [])
        }

        var notes: [String] = []
        let newline = UInt8(ascii: "\n")
        var body = bytes[...]
        if let last = body.last, last != newline {
            let cut = body.lastIndex(of: newline).map { $0 + 1 } ?? body.startIndex
            notes.append("an incomplete last line of \(body.endIndex - cut) bytes (a write cut short by a crash) is not an entry; the node removes it when it next opens the log")
            body = body[body.startIndex..<cut]
        }
        let lines = body.isEmpty ? [] : Array(body.dropLast().split(separator: newline, omittingEmptySubsequences: false))
        let results = lines.map { line in Result { () throws(AuditError) in try AuditEntry.parse(line) } }
        let parsed: [AuditEntry?] = results.map { try? $0.get() }
        let seqs = parsed.map { $0?.seq }

        let genesis = AuditChain.genesis(code: codeText, key: key)
        var expected: UInt64 = 1
        var previousMac = genesis
        var macs: [[UInt8]] = []   // macs[i] is entry i+1's

        func report(_ problem: AuditProblem?) -> Walk {
            Walk(verifiedEntries: macs.count, problem: problem, notes: notes)
        }

        for (index, entry) in parsed.enumerated() {
            let line = index + 1
            guard let entry else {
                var reason = "unreadable"
                if case .failure(let error) = results[index] { reason = error.message }
                return report(AuditProblem(entry: expected, line: line, reason: .unparseable,
                                           message: "the line is not a valid audit entry (\(reason))"))
            }
            if entry.seq < expected {
                return report(AuditProblem(entry: expected, line: line, reason: .reordered,
                                           message: "found entry \(entry.seq) after entry \(expected - 1): lines were reordered or duplicated"))
            }
            if entry.seq > expected {
                if seqs[(index + 1)...].contains(expected) {
                    return report(AuditProblem(entry: expected, line: line, reason: .reordered,
                                               message: "found entry \(entry.seq) where entry \(expected) belongs, which comes later in the file: lines were reordered"))
                }
                let missing = entry.seq - 1 == expected ? "entry \(expected) is" : "entries \(expected)-\(entry.seq - 1) are"
                return report(AuditProblem(entry: expected, line: line, reason: .removed,
                                           message: "\(missing) missing: removed from the log"))
            }
            let mac = AuditChain.mac(previous: previousMac, entry: entry, code: codeText, key: key)
            guard AuditChain.equal(mac, AuditHex.decode(entry.mac) ?? []) else {
                if !anyLineVerifies(parsed, genesis: genesis, code: codeText, key: key), headRead?.authentic != true {
                    return report(AuditProblem(entry: expected, line: line, reason: .wrongKey,
                                               message: "no entry verifies: the log was written under another master key (or for another municipality), or every entry was rewritten"))
                }
                return report(AuditProblem(entry: expected, line: line, reason: .edited,
                                           message: "the MAC does not match: the entry (or the MAC of the one before) was edited"))
            }
            macs.append(mac)
            previousMac = mac
            expected += 1
            try visit(entry)
        }

        // The end: compare with the head file.
        let count = UInt64(macs.count)
        let endLine = lines.count + 1
        if headMalformed {
            return report(AuditProblem(entry: count + 1, line: endLine, reason: .headMismatch,
                                       message: "the head file is not in the head format: it was edited"))
        }
        guard let read = headRead else {
            if count > 1 {
                return report(AuditProblem(entry: count + 1, line: endLine, reason: .headMismatch,
                                           message: "the head file is missing, so removal of entries at the end cannot be ruled out"))
            }
            if count == 1 { notes.append("no head file yet (a crash right after the first entry); the node writes it when it next opens the log") }
            return report(nil)
        }
        guard read.authentic else {
            return report(AuditProblem(entry: count + 1, line: endLine, reason: .headMismatch,
                                       message: "the head file fails its MAC check: it was edited"))
        }
        let head = read.head
        if head.seq > count {
            return report(AuditProblem(entry: count + 1, line: endLine, reason: .truncated,
                                       message: "the log ends at entry \(count) but the head file records entry \(head.seq): entries were removed from the end"))
        }
        guard head.seq >= 1, AuditChain.equal(head.mac, macs[Int(head.seq) - 1]) else {
            return report(AuditProblem(entry: head.seq, line: Int(head.seq), reason: .headMismatch,
                                       message: "the head file's MAC for entry \(head.seq) differs from the log's"))
        }
        if head.seq < count {
            notes.append("the head file is \(count - head.seq) entries behind the log (an append in progress, or a crash before the head update)")
        }
        return report(nil)
    }

    /// Whether any line's MAC verifies against the line before it (entry 1
    /// against the genesis). With the right key an edit breaks only one or
    /// two lines, so none verifying means the key (or tenant) is wrong.
    private static func anyLineVerifies(_ entries: [AuditEntry?], genesis: [UInt8], code: String, key: SymmetricKey) -> Bool {
        var previous: AuditEntry?
        for entry in entries {
            defer { previous = entry }
            guard let entry else { continue }
            let chainFrom: [UInt8]?
            if entry.seq == 1 { chainFrom = genesis } else { chainFrom = previous.flatMap { AuditHex.decode($0.mac) } }
            guard let chainFrom else { continue }
            if AuditChain.equal(AuditChain.mac(previous: chainFrom, entry: entry, code: code, key: key), AuditHex.decode(entry.mac) ?? []) {
                return true
            }
        }
        return false
    }
}
