import Crypto
import Foundation
import Testing
import RenkeiCore
import RenkeiCrypto
@testable import RenkeiAudit

/// Each test damages a closed log the way an attacker (or a crash) would and
/// checks that `verify` names the first broken entry, its line and the reason,
/// and that `open` refuses to chain onto it.
@Suite struct AuditTamperTests {
    @Test func editedFieldIsDetected() throws {
        let t = try TemporaryAudit()
        try t.fill(5)
        var lines = try t.lines()
        #expect(lines[2].contains("\"outcome\":\"no-match\""))
        lines[2] = lines[2].replacingOccurrences(of: "\"outcome\":\"no-match\"", with: "\"outcome\":\"match\"")
        try t.write(lines: lines)
        let problem = try #require(try t.verify().problem)
        #expect(problem.entry == 3 && problem.line == 3 && problem.reason == .edited)
        #expect(problem.description.hasPrefix("entry 3 (line 3): "))
        #expect(try t.verify().verifiedEntries == 2)
    }

    @Test func flippedMACIsDetected() throws {
        let t = try TemporaryAudit()
        try t.fill(4)
        var lines = try t.lines()
        let entry = try AuditEntry.parse(Array(lines[1].utf8)[...])
        let flipped = String(entry.mac.prefix(10)) + (entry.mac.dropFirst(10).first == "0" ? "1" : "0") + String(entry.mac.dropFirst(11))
        lines[1] = lines[1].replacingOccurrences(of: entry.mac, with: flipped)
        try t.write(lines: lines)
        let problem = try #require(try t.verify().problem)
        #expect(problem.entry == 2 && problem.line == 2 && problem.reason == .edited)
    }

    @Test func editedLastEntryStopsOpen() throws {
        let t = try TemporaryAudit()
        try t.fill(3)
        var lines = try t.lines()
        lines[2] = lines[2].replacingOccurrences(of: "\"targetCode\":\"322016\"", with: "\"targetCode\":\"131016\"")
        try t.write(lines: lines)
        #expect(try t.verify().problem?.reason == .edited)
        do {
            _ = try t.open()
            Issue.record("opened a log whose last entry was edited")
        } catch {
            #expect(error.code == .corrupted)
            #expect(error.message.contains("entry (3)"))
        }
    }

    @Test func removedMiddleEntryIsDetected() throws {
        let t = try TemporaryAudit()
        try t.fill(5)
        var lines = try t.lines()
        lines.remove(at: 2)
        try t.write(lines: lines)
        let problem = try #require(try t.verify().problem)
        #expect(problem.entry == 3 && problem.line == 3 && problem.reason == .removed)
        #expect(problem.message.contains("entry 3 is missing"))
    }

    @Test func removedLastEntryIsCaughtByTheHead() throws {
        let t = try TemporaryAudit()
        try t.fill(5)
        var lines = try t.lines()
        lines.removeLast()
        try t.write(lines: lines)
        let report = try t.verify()
        let problem = try #require(report.problem)
        #expect(problem.reason == .truncated)
        #expect(problem.entry == 5 && problem.line == 5)
        #expect(report.verifiedEntries == 4, "the chain itself is intact; only the head shows the loss")
        do {
            _ = try t.open()
            Issue.record("opened a log with entries removed from its end")
        } catch {
            #expect(error.code == .corrupted)
        }
    }

    @Test func removingTheHeadFileIsReported() throws {
        let t = try TemporaryAudit()
        try t.fill(3)
        try FileManager.default.removeItem(atPath: t.headPath)
        #expect(try t.verify().problem?.reason == .headMismatch)
        #expect(throws: AuditError.self) { try t.open() }
    }

    @Test func deletedLogIsReportedThroughItsHead() throws {
        let t = try TemporaryAudit()
        try t.fill(2)
        try FileManager.default.removeItem(atPath: t.path)
        #expect(AuditLogs.codesWithLogs(directory: t.root) == [matsue])
        let problem = try #require(try t.verify().problem)
        #expect(problem.reason == .truncated && problem.entry == 1)
        #expect(throws: AuditError.self) { try t.open() }
    }

    @Test func reorderedLinesAreDetected() throws {
        let t = try TemporaryAudit()
        try t.fill(5)
        var lines = try t.lines()
        lines.swapAt(1, 2)
        try t.write(lines: lines)
        let problem = try #require(try t.verify().problem)
        #expect(problem.entry == 2 && problem.line == 2 && problem.reason == .reordered)
    }

    @Test func duplicatedLineIsDetected() throws {
        let t = try TemporaryAudit()
        try t.fill(3)
        var lines = try t.lines()
        lines.insert(lines[1], at: 2)
        try t.write(lines: lines)
        let problem = try #require(try t.verify().problem)
        #expect(problem.entry == 3 && problem.line == 3 && problem.reason == .reordered)
    }

    @Test func unparseableAndSmuggledFieldsAreDetected() throws {
        let t = try TemporaryAudit()
        try t.fill(3)
        var lines = try t.lines()
        let original = lines[1]
        lines[1] = String(original.dropLast()) + ",\"name\":\"山田太郎\"}"
        try t.write(lines: lines)
        let problem = try #require(try t.verify().problem)
        #expect(problem.entry == 2 && problem.line == 2 && problem.reason == .unparseable)
        lines[1] = "not json"
        try t.write(lines: lines)
        #expect(try t.verify().problem?.reason == .unparseable)
    }

    @Test func wrongMasterKeyIsNamed() throws {
        let t = try TemporaryAudit()
        try t.fill(3)
        let other = MasterKey.generate().auditKey(for: "322016")
        let problem = try #require(try t.verify(key: other).problem)
        #expect(problem.reason == .wrongKey && problem.entry == 1 && problem.line == 1)
        do {
            _ = try AuditLog.open(path: t.path, code: matsue, key: other)
            Issue.record("opened a log under another master key")
        } catch {
            #expect(error.code == .corrupted)
        }
    }

    @Test func aLogDoesNotVerifyAsAnotherTenants() throws {
        let t = try TemporaryAudit()
        try t.fill(2)
        // Same key, other code: the genesis and the canonical bytes differ.
        let problem = try #require(try t.verify(code: izumo).problem)
        #expect(problem.entry == 1 && problem.line == 1)
    }

    @Test func tornLastLineIsCutOffAndReported() throws {
        let t = try TemporaryAudit()
        try t.fill(3)
        // A crash in the middle of the fourth line's write.
        let partial = Array(AuditEntry(seq: 4, time: "2026-01-01T00:00:00.000Z", record: record(4),
                                       mac: String(repeating: "a", count: 64)).jsonLine().prefix(57))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: t.path))
        try handle.seekToEnd()
        try handle.write(contentsOf: partial)
        try handle.close()
        let before = try t.verify()
        #expect(before.isIntact && before.verifiedEntries == 3)
        #expect(before.notes.count == 1 && before.notes[0].contains("57 bytes"))
        let log = try t.open()
        #expect(log.recovery == AuditRecovery(droppedBytes: 57, headRepaired: false))
        #expect(log.lastSequence == 3)
        #expect(try log.append(record(5)).seq == 4)
        let after = try t.verify()
        #expect(after.isIntact && after.verifiedEntries == 4 && after.notes.isEmpty)
    }

    @Test func headOneBehindAfterACrashIsRepaired() throws {
        let t = try TemporaryAudit()
        try t.fill(2)
        let oldHead = try Data(contentsOf: URL(fileURLWithPath: t.headPath))
        do {
            let log = try t.open()
            try log.append(record(2))
        }
        // A crash after the third line was synced, before its head update.
        try oldHead.write(to: URL(fileURLWithPath: t.headPath))
        let report = try t.verify()
        #expect(report.isIntact && report.notes.count == 1)
        let log = try t.open()
        #expect(log.recovery?.headRepaired == true)
        #expect(try t.verify().notes.isEmpty)
        #expect(try log.append(record(3)).seq == 4)
    }

    @Test func emptyAndMissingLogs() throws {
        let t = try TemporaryAudit()
        do {
            _ = try t.verify()
            Issue.record("verified a log that does not exist")
        } catch {
            #expect(error.code == .notFound)
        }
        _ = try t.open()
        let report = try t.verify()
        #expect(report.isIntact && report.verifiedEntries == 0)
    }
}
