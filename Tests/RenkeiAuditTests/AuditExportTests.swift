import Crypto
import Foundation
import Testing
import RenkeiCore
import RenkeiCrypto
@testable import RenkeiAudit

extension TemporaryAudit {
    /// Writes a genuine log (lines and head) whose entries carry the given
    /// times, which `append` cannot do (it takes the clock's).
    func writeLog(_ records: [(time: String, record: AuditRecord)]) throws {
        var previous = AuditChain.genesis(code: "322016", key: key)
        var lines: [String] = []
        for (i, item) in records.enumerated() {
            let draft = AuditEntry(seq: UInt64(i + 1), time: item.time, record: item.record, mac: String(repeating: "0", count: 64))
            try AuditFields.check(draft)
            previous = AuditChain.mac(previous: previous, entry: draft, code: "322016", key: key)
            let line = draft.with(mac: AuditHex.encode(previous)).jsonLine()
            lines.append(String(decoding: line.dropLast(), as: UTF8.self))
        }
        try write(lines: lines)
        try AuditHead(seq: UInt64(records.count), mac: previous).write(path: headPath, code: "322016", key: key)
    }

    func export(from: String? = nil, to: String? = nil, maxEntries: Int = 1_000_000) throws(AuditError) -> AuditExport {
        try AuditLogs.export(directory: root, code: matsue, masterKey: master,
                             from: from.map { AuditTime.date($0)! }, to: to.map { AuditTime.date($0)! }, maxEntries: maxEntries)
    }
}

@Suite struct AuditExportTests {
    static let times = ["2026-11-02T09:00:00.000Z", "2026-11-02T09:30:00.000Z", "2026-11-02T10:00:00.000Z",
                        "2026-11-02T10:00:00.001Z", "2026-11-02T11:00:00.000Z"]

    func sampleLog() throws -> TemporaryAudit {
        let t = try TemporaryAudit()
        try t.writeLog(Self.times.enumerated().map { i, time in
            var r = operatorRecord(i)
            r.detail = ["rows=12, skipped=0", "said \"no\"", "=HYPERLINK(\"http://x\")", nil, "-1+2"][i]
            return (time, r)
        })
        return t
    }

    @Test func theRangeIncludesItsStartAndExcludesItsEnd() throws {
        let t = try sampleLog()
        #expect(try t.verify().isIntact)
        let all = try t.export()
        #expect(all.entries.map(\.seq) == [1, 2, 3, 4, 5])
        #expect(all.verifiedEntries == 5 && all.problem == nil && all.code == matsue)
        #expect(try t.export(from: Self.times[1], to: Self.times[2]).entries.map(\.seq) == [2])
        #expect(try t.export(from: Self.times[2]).entries.map(\.seq) == [3, 4, 5])
        #expect(try t.export(to: Self.times[3]).entries.map(\.seq) == [1, 2, 3])
        let none = try t.export(from: "2026-11-03T00:00:00.000Z")
        #expect(none.entries.isEmpty && none.verifiedEntries == 5, "the whole log is verified whatever the range")
        #expect(throws: AuditError.self) { try t.export(from: Self.times[2], to: Self.times[1]) }
    }

    @Test func csvIsRFC4180WithAHeaderAndNoTrailer() throws {
        let t = try sampleLog()
        let text = String(decoding: try t.export().csv(), as: UTF8.self)
        let rows = text.components(separatedBy: "\r\n")
        #expect(rows.count == 7 && rows.last == "", "header, five entries, and the final CRLF")
        #expect(rows[0] == "seq,time,event,outcome,actor,terminal,requester_code,target_code,number_index,request_id,peer_certificate_sha256,detail")
        let e = try t.export().entries
        #expect(rows[1] == "1,2026-11-02T09:00:00.000Z,resident-viewed,denied,tanaka.h,MATSUE-PC07:ward.2,322032,322016,"
                + "\(e[0].numberIndex!),\(e[0].requestID!),\(e[0].peerCertificateSHA256!),\"rows=12, skipped=0\"")
        #expect(rows[2].hasSuffix(",,\"said \"\"no\"\"\""), "quotes doubled inside a quoted field; an absent certificate is empty")
        #expect(rows[3].hasSuffix(",\"'=HYPERLINK(\"\"http://x\"\")\""), "a formula is defused with a leading quote")
        #expect(rows[4].hasSuffix(","), "an absent detail is an empty last field")
        #expect(rows[5].hasSuffix(",'-1+2"))
        #expect(rows[5].contains(",tanaka.h,,322032,"), "entry 5 has no terminal")
    }

    @Test func jsonLinesAreTheLogsOwnLines() throws {
        let t = try sampleLog()
        let lines = try t.lines()
        let text = String(decoding: try t.export(from: Self.times[1], to: Self.times[4]).jsonLines(), as: UTF8.self)
        #expect(text == lines[1...3].joined(separator: "\n") + "\n")
        #expect(try t.export(from: "2026-11-03T00:00:00.000Z").jsonLines().isEmpty)
    }

    @Test func aBrokenChainIsReportedWithTheEntriesBeforeIt() throws {
        let t = try sampleLog()
        var lines = try t.lines()
        lines[2] = lines[2].replacingOccurrences(of: #""outcome":"ok""#, with: #""outcome":"denied""#)
        try t.write(lines: lines)
        let export = try t.export()
        #expect(export.entries.map(\.seq) == [1, 2])
        #expect(export.verifiedEntries == 2)
        #expect(export.problem?.reason == .edited && export.problem?.entry == 3)
        // Entries cut off the end: all lines verify, the head shows the loss.
        let u = try sampleLog()
        try u.write(lines: Array(try u.lines().dropLast()))
        let cut = try u.export()
        #expect(cut.entries.count == 4 && cut.problem?.reason == .truncated)
    }

    @Test func moreEntriesThanTheLimitIsAnErrorNamingIt() throws {
        let t = try sampleLog()
        do {
            _ = try t.export(maxEntries: 4)
            Issue.record("exported more entries than the limit")
        } catch {
            #expect(error.code == .invalidArgument && error.field == "maxEntries")
            #expect(error.message.contains("4"))
        }
        #expect(try t.export(from: Self.times[2], maxEntries: 3).entries.count == 3, "the limit counts only the range")
    }

    @Test func exportRunsWhileANodeHoldsTheLogAndNeedsALog() throws {
        let t = try TemporaryAudit()
        #expect(throws: AuditError.self) { try t.export() }
        let log = try t.open()
        try log.append(operatorRecord(0))
        try log.append(AuditRecord(event: .auditExported, outcome: .ok, actor: "auditor1", terminal: "AUDIT-01"))
        let export = try t.export()
        #expect(export.entries.map(\.actor) == ["tanaka.h", "auditor1"] && export.problem == nil)
        try log.append(operatorRecord(2))
        #expect(try t.export().verifiedEntries == 3)
    }

    @Test func entryTimesParse() {
        #expect(AuditTime.date("1970-01-01T00:00:01.500Z") == Date(timeIntervalSince1970: 1.5))
        #expect(AuditTime.date("2026-11-02T09:00:00.000Z") == ISO8601DateFormatter().date(from: "2026-11-02T09:00:00Z"))
        #expect(AuditTime.date("2026-11-02 09:00:00.000Z") == nil)
    }
}
