import Foundation
import Logging
import Testing
@testable import RenkeiVault

/// A temporary vault root, removed when the value goes away.
final class TemporaryVault {
    let root: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/renkei-vault-XXXXXX").utf8CString)
        guard let made = mkdtemp(&template) else { throw VaultError(.io, "mkdtemp failed") }
        root = String(cString: made)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: root)
    }

    func open(limits: VaultLimits = VaultLimits()) throws -> VaultStore {
        try VaultStore.open(root: root, limits: limits, logger: Logger(label: "test.vault"))
    }

    func path(_ relative: String) -> String { root + "/" + relative }

    func files(_ relative: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: path(relative)).sorted()
    }
}

/// A change with a recognizable payload.
func record(_ seq: UInt64, timeMs: UInt64? = nil, size: Int = 40) -> VaultRecord {
    let payload = (0..<size).map { UInt8(truncatingIfNeeded: Int(seq) &* 31 &+ $0) }
    return VaultRecord(seq: seq, commitTimeMs: timeMs ?? 1_700_000_000_000 + seq * 1000, payload: payload)
}

func records(_ range: ClosedRange<UInt64>, timeMs: ((UInt64) -> UInt64)? = nil) -> [VaultRecord] {
    range.map { record($0, timeMs: timeMs?($0)) }
}

func readAll(_ store: VaultStore, node: String, after: UInt64 = 0, upTo: UInt64? = nil) throws -> [VaultRecord] {
    var cursor = try store.records(node: node, after: after, upToCommitTimeMs: upTo)
    var out: [VaultRecord] = []
    while let r = try cursor.next() { out.append(r) }
    return out
}

/// Flips one bit of the byte at `offset` (negative: from the end).
func flipByte(_ path: String, at offset: Int) throws {
    var data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let i = offset >= 0 ? offset : data.count + offset
    data[i] ^= 0x20
    try Data(data).write(to: URL(fileURLWithPath: path))
}

func sha256Hex(_ bytes: [UInt8]) -> String { VaultFiles.sha256Hex(bytes) }

func thrownCode(_ body: () throws -> Void) -> VaultError.Code? {
    do {
        try body()
        return nil
    } catch let error as VaultError {
        return error.code
    } catch {
        return .io
    }
}

func thrownError(_ body: () throws -> Void) -> VaultError? {
    do {
        try body()
        return nil
    } catch let error as VaultError {
        return error
    } catch {
        return nil
    }
}
