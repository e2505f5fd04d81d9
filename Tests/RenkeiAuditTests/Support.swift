import Crypto
import Foundation
import RenkeiCore
import RenkeiCrypto
@testable import RenkeiAudit

let matsue = try! MunicipalityCode("322016")
let izumo = try! MunicipalityCode("322032")

/// A scratch directory with an audit log path in it, removed when the test ends.
final class TemporaryAudit {
    let root = NSTemporaryDirectory() + "renkei-audit-\(UUID().uuidString)"
    let master = MasterKey.generate()
    var path: String { root + "/322016.log" }
    var headPath: String { root + "/322016.head" }
    var key: SymmetricKey { master.auditKey(for: "322016") }

    init() throws {
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: root) }

    func open() throws(AuditError) -> AuditLog {
        try AuditLog.open(path: path, code: matsue, key: key)
    }

    func verify(key: SymmetricKey? = nil, code: MunicipalityCode = matsue) throws(AuditError) -> AuditReport {
        try AuditVerifier.verify(path: path, code: code, key: key ?? self.key, keepingLast: 1_000)
    }

    /// Writes `count` entries with a fresh log, then closes it.
    func fill(_ count: Int) throws {
        let log = try open()
        for i in 0..<count { try log.append(record(i)) }
    }

    /// The log's complete lines, without newlines.
    func lines() throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    func write(lines: [String]) throws {
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: path))
    }
}

/// A varied record: every optional field present in some of them.
func record(_ i: Int) -> AuditRecord {
    AuditRecord(
        event: i % 2 == 0 ? .inquiryAnswered : .inquirySent,
        outcome: i % 3 == 0 ? .match : .noMatch,
        requestID: UUID().uuidString.lowercased(),
        requesterCode: izumo, targetCode: matsue,
        numberIndex: AuditHex.encode(SHA256.hash(data: Array("n\(i)".utf8))),
        peerCertificateSHA256: i % 2 == 0 ? AuditHex.encode(SHA256.hash(data: Array("cert".utf8))) : nil,
        detail: i % 4 == 0 ? "lookup took \(i) ms; \"quoted\" \\ 日本語" : nil)
}

func fileMode(_ path: String) -> mode_t {
    var st = stat()
    guard stat(path, &st) == 0 else { return 0 }
    return st.st_mode & 0o7777
}
