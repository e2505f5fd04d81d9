import Crypto
import Foundation
import Testing
import RenkeiCore
import RenkeiCrypto
@testable import RenkeiAudit

@Suite struct AuditAppendTests {
    @Test func appendReopenAndContinue() throws {
        let t = try TemporaryAudit()
        do {
            let log = try t.open()
            #expect(log.lastSequence == 0)
            let first = try log.append(record(0))
            #expect(first.seq == 1)
            #expect(try log.append(record(1)).seq == 2)
            #expect(try log.append(record(2)).seq == 3)
            #expect(log.recovery == nil)
        }
        #expect(fileMode(t.path) == 0o600)
        #expect(fileMode(t.headPath) == 0o600)
        let log = try t.open()
        #expect(log.lastSequence == 3)
        #expect(log.recovery == nil)
        let fourth = try log.append(AuditRecord(event: .movedOutMarked, outcome: .marked, targetCode: izumo))
        #expect(fourth.seq == 4)
        let report = try t.verify()
        #expect(report.isIntact, "\(String(describing: report.problem))")
        #expect(report.verifiedEntries == 4)
        #expect(report.notes.isEmpty)
        #expect(report.lastEntries.map(\.seq) == [1, 2, 3, 4])
        #expect(report.lastEntries[3] == fourth)
        #expect(report.lastEntries[0].detail == record(0).detail, "a detail with quotes, a backslash and Japanese reads back unchanged")
    }

    @Test func linesAreJSONWithTheDocumentedFields() throws {
        let t = try TemporaryAudit()
        try t.fill(1)
        let line = try #require(try t.lines().first)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["seq"] as? Int == 1)
        #expect(object["event"] as? String == "inquiry-answered")
        #expect(object["outcome"] as? String == "match")
        #expect(object["requesterCode"] as? String == "322032")
        let time = try #require(object["time"] as? String)
        #expect(time.count == 24 && time.hasSuffix("Z") && time.contains("."), "ISO 8601 UTC with milliseconds, got \(time)")
        #expect((object["mac"] as? String)?.count == 64)
    }

    @Test func oversizeOrMalformedFieldsAreRejectedByName() throws {
        let t = try TemporaryAudit()
        let log = try t.open()
        try log.append(record(1))
        let size = try FileManager.default.attributesOfItem(atPath: t.path)[.size] as? Int
        let cases: [(AuditRecord, String)] = [
            (AuditRecord(event: .inquirySent, outcome: .error, detail: String(repeating: "x", count: 201)), "detail"),
            (AuditRecord(event: .inquirySent, outcome: .error, detail: String(repeating: "あ", count: 67)), "detail"),
            (AuditRecord(event: .inquirySent, outcome: .error, detail: "line\nbreak"), "detail"),
            (AuditRecord(event: .inquirySent, outcome: .error, requestID: String(repeating: "a", count: 37)), "requestID"),
            (AuditRecord(event: .inquirySent, outcome: .error, requestID: "abc def"), "requestID"),
            (AuditRecord(event: .inquirySent, outcome: .error, numberIndex: "123456789012"), "numberIndex"),
            (AuditRecord(event: .inquirySent, outcome: .error, peerCertificateSHA256: String(repeating: "G", count: 64)), "peerCertificateSHA256"),
            (AuditRecord(event: AuditEvent(rawValue: "Login Failed"), outcome: .error), "event"),
            (AuditRecord(event: .inquirySent, outcome: AuditOutcome(rawValue: String(repeating: "a", count: 41))), "outcome"),
        ]
        for (bad, field) in cases {
            do {
                try log.append(bad)
                Issue.record("accepted a bad \(field)")
            } catch {
                #expect(error.code == .invalidArgument)
                #expect(error.field == field)
                #expect(error.message.hasPrefix(field + ":"))
            }
        }
        #expect(log.lastSequence == 1)
        #expect(try FileManager.default.attributesOfItem(atPath: t.path)[.size] as? Int == size, "a rejected record must write nothing")
        // 200 bytes exactly is fine, and a new event name needs no change here.
        let ok = try log.append(AuditRecord(event: AuditEvent(rawValue: "operator-login"), outcome: .stored,
                                            detail: String(repeating: "y", count: 200)))
        #expect(ok.seq == 2)
        #expect(try t.verify().isIntact)
    }

    @Test func concurrentAppendsGetContiguousSequenceNumbers() async throws {
        let t = try TemporaryAudit()
        let log = try t.open()
        let tasks = 8, each = 25
        let seqs = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            for task in 0..<tasks {
                group.addTask {
                    var mine: [UInt64] = []
                    for i in 0..<each { mine.append(try log.append(record(task * each + i)).seq) }
                    return mine
                }
            }
            var all: [UInt64] = []
            for try await part in group { all += part }
            return all
        }
        #expect(seqs.sorted() == Array(1...UInt64(tasks * each)))
        let report = try t.verify()
        #expect(report.isIntact, "\(String(describing: report.problem))")
        #expect(report.verifiedEntries == tasks * each)
        #expect(try t.lines().count == tasks * each)
    }

    @Test func theIndividualNumberNeverAppearsOnlyItsBlindIndex() throws {
        let t = try TemporaryAudit()
        let number = try IndividualNumber.completing(firstEleven: "12345678901")
        // A blind index as the store computes one: a keyed HMAC of the number.
        let indexKey = SymmetricKey(size: .bits256)
        let token = HMAC<SHA256>.authenticationCode(for: Array(number.digits.utf8), using: indexKey)
        let hex = AuditHex.encode(token)
        do {
            let log = try t.open()
            try log.append(AuditRecord(event: .inquiryAnswered, outcome: .match, requestID: UUID().uuidString.lowercased(),
                                       requesterCode: izumo, targetCode: matsue, numberIndex: hex))
            try log.append(AuditRecord(event: .movedOutMarked, outcome: .marked, targetCode: izumo, numberIndex: hex))
        }
        for file in [t.path, t.headPath] {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
            #expect(bytes.range(of: Data(number.digits.utf8)) == nil, "the Individual Number is in \(file)")
        }
        // The scan can find what is there: the blind index is.
        #expect(try Data(contentsOf: URL(fileURLWithPath: t.path)).range(of: Data(hex.utf8)) != nil)
    }
}

@Suite struct AuditRegistryTests {
    @Test func oneLogPerCodeInAPrivateDirectory() throws {
        let t = try TemporaryAudit()
        let dir = t.root + "/audit"
        let logs = AuditLogs(directory: dir, masterKey: t.master, logger: .init(label: "test"))
        let a = try logs.log(for: matsue)
        #expect(try logs.log(for: matsue) === a)
        let b = try logs.log(for: izumo)
        #expect(a !== b)
        try a.append(record(0))
        try b.append(record(1))
        try b.append(record(2))
        #expect(fileMode(dir) == 0o700)
        #expect(fileMode(AuditLogs.logPath(directory: dir, code: matsue)) == 0o600)
        #expect(AuditLogs.codesWithLogs(directory: dir) == [matsue, izumo])
        let report = try AuditVerifier.verify(path: AuditLogs.logPath(directory: dir, code: izumo), code: izumo,
                                              key: t.master.auditKey(for: izumo.rawValue))
        #expect(report.isIntact && report.verifiedEntries == 2)
        // A second writer of the same file is refused, not interleaved.
        do {
            _ = try AuditLog.open(path: AuditLogs.logPath(directory: dir, code: matsue), code: matsue,
                                  key: t.master.auditKey(for: matsue.rawValue))
            Issue.record("opened a log that is already open for writing")
        } catch {
            #expect(error.code == .locked)
        }
    }

    @Test func auditKeysDifferPerCodeAndMasterKey() {
        let master = MasterKey.generate()
        let a = master.auditKey(for: "322016").withUnsafeBytes { Array($0) }
        #expect(a == master.auditKey(for: "322016").withUnsafeBytes { Array($0) })
        #expect(a != master.auditKey(for: "322032").withUnsafeBytes { Array($0) })
        #expect(a != MasterKey.generate().auditKey(for: "322016").withUnsafeBytes { Array($0) })
        #expect(a.count == 32)
    }
}
