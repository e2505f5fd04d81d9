import Crypto
import Foundation
import Testing
import RenkeiCore
import RenkeiCrypto
@testable import RenkeiAudit

/// An operator's record: who and from where, plus the usual fields.
func operatorRecord(_ i: Int) -> AuditRecord {
    var r = record(i)
    r.event = i % 2 == 0 ? .residentViewed : .recordsExported
    r.outcome = i % 3 == 0 ? .denied : .ok
    r.actor = i % 2 == 0 ? "tanaka.h" : "sato_k-2"
    r.terminal = i % 5 == 4 ? nil : "MATSUE-PC07:ward.2"
    return r
}

extension TemporaryAudit {
    func fillOperator(_ count: Int) throws {
        let log = try open()
        for i in 0..<count { try log.append(operatorRecord(i)) }
    }
}

@Suite struct AuditOperatorFieldTests {
    /// Two lines and a head written by the format before `actor` and
    /// `terminal` existed (made independently, with a script, under a fixed
    /// key). They must keep verifying, and the log must accept new entries.
    static let oldLines = [
        #"{"seq":1,"time":"2026-11-01T09:00:00.000Z","event":"inquiry-answered","requestID":"0b6f3a0e-1d2c-4c8e-9a51-2f1e7c3d4b5a","requesterCode":"322032","targetCode":"322016","numberIndex":"676b8bb84ce7267dd520deca4811c8f10a53e636352f06987f42fe425acedd80","outcome":"match","peerCertificateSHA256":"06298432e8066b29e2223bcc23aa9504b56ae508fabf3435508869b9c3190e22","detail":"lookup took 3 ms","mac":"7b17df9d064732b87beee9cf1e71a80f2e4bca73ab0927b73de9b3f95b4ff106"}"#,
        #"{"seq":2,"time":"2026-11-01T09:00:01.250Z","event":"moved-out-marked","targetCode":"322032","outcome":"marked","mac":"b8324fd7579ec972e63b829dc4f67d8afdf189970690287f5e6f6a3f0c4ad39d"}"#,
    ]
    static let oldHead = #"{"seq":2,"mac":"b8324fd7579ec972e63b829dc4f67d8afdf189970690287f5e6f6a3f0c4ad39d","headMac":"0379a572d49268b07fc6db8b379dc585283b9bb5779f44ec9149012f3b548f03"}"#
    static let fixedKey = SymmetricKey(data: (0..<32).map { UInt8($0) })

    @Test func aLogFromBeforeActorAndTerminalStillVerifies() throws {
        let t = try TemporaryAudit()
        try t.write(lines: Self.oldLines)
        try Data((Self.oldHead + "\n").utf8).write(to: URL(fileURLWithPath: t.headPath))
        let report = try t.verify(key: Self.fixedKey)
        #expect(report.isIntact, "\(String(describing: report.problem))")
        #expect(report.verifiedEntries == 2)
        #expect(report.lastEntries.allSatisfy { $0.actor == nil && $0.terminal == nil })
        // New entries with the new fields chain onto the old ones.
        do {
            let log = try AuditLog.open(path: t.path, code: matsue, key: Self.fixedKey)
            #expect(log.recovery == nil)
            try log.append(AuditRecord(event: .login, outcome: .ok, actor: "tanaka.h", terminal: "PC-07"))
        }
        let after = try t.verify(key: Self.fixedKey)
        #expect(after.isIntact && after.verifiedEntries == 3)
        #expect(try t.lines().prefix(2) == Self.oldLines[...], "old lines are never rewritten")
    }

    @Test func canonicalBytesGrowOnlyWhenActorOrTerminalIsPresent() {
        let base = AuditEntry(seq: 7, time: "2026-11-01T09:00:00.000Z", record: AuditRecord(event: .login, outcome: .ok),
                              mac: String(repeating: "0", count: 64))
        let old = base.canonicalBytes(code: "322016")
        func with(actor: String?, terminal: String?) -> [UInt8] {
            var r = AuditRecord(event: .login, outcome: .ok)
            r.actor = actor
            r.terminal = terminal
            return AuditEntry(seq: 7, time: base.time, record: r, mac: base.mac).canonicalBytes(code: "322016")
        }
        #expect(with(actor: nil, terminal: nil) == old)
        #expect(with(actor: "ab", terminal: nil) == old + [1, 0, 0, 0, 2] + Array("ab".utf8) + [0])
        #expect(with(actor: nil, terminal: "T1") == old + [0, 1, 0, 0, 0, 2] + Array("T1".utf8))
        #expect(with(actor: "ab", terminal: nil) != with(actor: nil, terminal: "ab"), "which field holds a value is part of the bytes")
    }

    @Test func actorAndTerminalAreWrittenAndReadBack() throws {
        let t = try TemporaryAudit()
        try t.fillOperator(5)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(t.lines()[0].utf8)) as? [String: Any])
        #expect(object["actor"] as? String == "tanaka.h")
        #expect(object["terminal"] as? String == "MATSUE-PC07:ward.2")
        #expect(object["event"] as? String == "resident-viewed")
        #expect(object["outcome"] as? String == "denied")
        let report = try t.verify()
        #expect(report.isIntact && report.verifiedEntries == 5)
        #expect(report.lastEntries.map(\.actor) == ["tanaka.h", "sato_k-2", "tanaka.h", "sato_k-2", "tanaka.h"])
        #expect(report.lastEntries[4].terminal == nil)
        #expect(!(try t.lines()[4].contains("terminal")), "an absent terminal is left out of the line")
    }

    @Test func strippingOrChangingActorOrTerminalBreaksTheMAC() throws {
        let edits: [(String) -> String] = [
            { $0.replacingOccurrences(of: #","actor":"sato_k-2""#, with: "") },
            { $0.replacingOccurrences(of: #","terminal":"MATSUE-PC07:ward.2""#, with: "") },
            { $0.replacingOccurrences(of: #","actor":"sato_k-2","terminal":"MATSUE-PC07:ward.2""#, with: "") },
            { $0.replacingOccurrences(of: #""actor":"sato_k-2""#, with: #""actor":"tanaka.h""#) },
            { $0.replacingOccurrences(of: #""terminal":"MATSUE-PC07:ward.2""#, with: #""terminal":"MATSUE-PC08""#) },
        ]
        for (n, edit) in edits.enumerated() {
            let t = try TemporaryAudit()
            try t.fillOperator(4)
            var lines = try t.lines()
            let edited = edit(lines[1])
            #expect(edited != lines[1], "edit \(n) changed nothing")
            lines[1] = edited
            try t.write(lines: lines)
            let problem = try #require(try t.verify().problem, "edit \(n) went unnoticed")
            #expect(problem.entry == 2 && problem.line == 2 && problem.reason == .edited, "edit \(n)")
        }
    }

    @Test func tamperingWithOperatorEntriesIsDetected() throws {
        // Deleted middle entry.
        do {
            let t = try TemporaryAudit()
            try t.fillOperator(5)
            var lines = try t.lines()
            lines.remove(at: 2)
            try t.write(lines: lines)
            let problem = try #require(try t.verify().problem)
            #expect(problem.entry == 3 && problem.reason == .removed)
        }
        // Deleted last entry.
        do {
            let t = try TemporaryAudit()
            try t.fillOperator(5)
            try t.write(lines: Array(try t.lines().dropLast()))
            let problem = try #require(try t.verify().problem)
            #expect(problem.entry == 5 && problem.reason == .truncated)
            #expect(throws: AuditError.self) { try t.open() }
        }
        // Two entries swapped.
        do {
            let t = try TemporaryAudit()
            try t.fillOperator(5)
            var lines = try t.lines()
            lines.swapAt(2, 3)
            try t.write(lines: lines)
            let problem = try #require(try t.verify().problem)
            #expect(problem.entry == 3 && problem.line == 3 && problem.reason == .reordered)
        }
        // An entry duplicated.
        do {
            let t = try TemporaryAudit()
            try t.fillOperator(4)
            var lines = try t.lines()
            lines.insert(lines[0], at: 1)
            try t.write(lines: lines)
            let problem = try #require(try t.verify().problem)
            #expect(problem.entry == 2 && problem.line == 2 && problem.reason == .reordered)
        }
        // A duplicate appended at the end (seq 3 again after 4 entries).
        do {
            let t = try TemporaryAudit()
            try t.fillOperator(4)
            var lines = try t.lines()
            lines.append(lines[2])
            try t.write(lines: lines)
            let problem = try #require(try t.verify().problem)
            #expect(problem.entry == 5 && problem.line == 5 && problem.reason == .reordered)
        }
    }

    @Test func badActorOrTerminalIsRejectedByName() throws {
        let t = try TemporaryAudit()
        let log = try t.open()
        let cases: [(String?, String?, String)] = [
            ("", nil, "actor"),
            (String(repeating: "a", count: 33), nil, "actor"),
            ("Tanaka", nil, "actor"),
            ("tanaka h", nil, "actor"),
            ("tanaka:h", nil, "actor"),
            ("田中", nil, "actor"),
            (nil, "", "terminal"),
            (nil, String(repeating: "T", count: 65), "terminal"),
            (nil, "pc 07", "terminal"),
            (nil, "pc/07", "terminal"),
            (nil, "pc\n07", "terminal"),
        ]
        for (actor, terminal, field) in cases {
            do {
                try log.append(AuditRecord(event: .login, outcome: .denied, actor: actor, terminal: terminal))
                Issue.record("accepted a bad \(field)")
            } catch {
                #expect(error.code == .invalidArgument && error.field == field)
                #expect(error.message.hasPrefix(field + ":"))
            }
        }
        #expect(log.lastSequence == 0)
        // The longest allowed values fit.
        try log.append(AuditRecord(event: .login, outcome: .ok, detail: String(repeating: "\"", count: 200),
                                   actor: "a." + String(repeating: "b", count: 29) + "-",
                                   terminal: "A:" + String(repeating: "z", count: 60) + "_9"))
        #expect(try t.verify().isIntact)
    }

    @Test func operatorEventsAndOutcomesAreValidTokens() throws {
        let events: [(AuditEvent, String)] = [
            (.login, "login"), (.loginFailed, "login-failed"), (.logout, "logout"), (.sessionExpired, "session-expired"),
            (.recordsImported, "records-imported"), (.recordsExported, "records-exported"),
            (.residentViewed, "resident-viewed"), (.residentDeleted, "resident-deleted"), (.tenantDeleted, "tenant-deleted"),
            (.accountAdded, "account-added"), (.accountDisabled, "account-disabled"), (.accountsReviewed, "accounts-reviewed"),
            (.auditExported, "audit-exported"), (.backupRequested, "backup-requested"), (.restorePerformed, "restore-performed"),
            (.mediaExported, "media-exported"), (.mediaErased, "media-erased"), (.permissionDenied, "permission-denied"),
        ]
        #expect(AuditOutcome.ok.rawValue == "ok" && AuditOutcome.denied.rawValue == "denied")
        let t = try TemporaryAudit()
        let log = try t.open()
        for (i, (event, raw)) in events.enumerated() {
            #expect(event.rawValue == raw)
            try log.append(AuditRecord(event: event, outcome: i % 2 == 0 ? .ok : .denied, actor: "admin", terminal: "console"))
        }
        let report = try t.verify()
        #expect(report.isIntact && report.verifiedEntries == events.count)
        #expect(report.lastEntries.map(\.event) == events.map { $0.0 })
    }
}
