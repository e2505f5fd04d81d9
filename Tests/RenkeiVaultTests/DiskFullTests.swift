import Foundation
import Testing
@testable import RenkeiVault

@Suite struct DiskFullTests {
    @Test func enospcMapsToDiskFull() {
        #expect(VaultError.system("write", "cannot write", "/x", errno: ENOSPC).code == .diskFull)
        #expect(VaultError.system("write", "cannot write", "/x", errno: EDQUOT).code == .diskFull)
        #expect(VaultError.system("open", "cannot open", "/x", errno: ENOENT).code == .notFound)
        #expect(VaultError.system("open", "cannot open", "/x", errno: EACCES).code == .io)
    }

    /// A real full file system: a 1 MiB tmpfs (mounting needs root).
    @Test(.enabled(if: getuid() == 0, "mounting a small tmpfs needs root"))
    func aFullDiskLeavesThePreviousStateIntact() throws {
        let t = try TemporaryVault()
        let mountPoint = t.path("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        try run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", mountPoint])
        defer { try? run("/bin/umount", [mountPoint]) }
        let store = try VaultStore.open(root: mountPoint + "/vault")
        try store.append(node: "n1", records: records(1...10))
        // Incompressible payloads, 64 KiB each: a few batches fill 1 MiB.
        var seq: UInt64 = 11
        var error: VaultError?
        while error == nil, seq < 1000 {
            let batch = (seq...(seq + 3)).map { s in
                VaultRecord(seq: s, commitTimeMs: s, payload: (0..<65_536).map { _ in UInt8.random(in: 0...255) })
            }
            error = thrownError { try store.append(node: "n1", records: batch) }
            if error == nil { seq += 4 }
        }
        #expect(error?.code == .diskFull, "\(String(describing: error))")
        let last = seq - 1
        #expect(try store.lastSequence(node: "n1") == last, "the refused batch stored nothing")
        #expect(!(try FileManager.default.contentsOfDirectory(atPath: mountPoint + "/vault/nodes/n1/segments")).contains { $0.hasPrefix(".tmp-") },
                "no temporary file is left behind")
        #expect(try VaultVerifier(root: mountPoint + "/vault").verify(node: "n1").isIntact)
        #expect(try readAll(store, node: "n1").count == Int(last))
        // Room again: the same batch goes through.
        let first = try #require(try store.segments(node: "n1").dropFirst().first)
        try FileManager.default.removeItem(atPath: mountPoint + "/vault/nodes/n1/segments/" + first.fileName)
        try FileManager.default.removeItem(atPath: mountPoint + "/vault/nodes/n1/segments/" + first.fileName + ".meta")
        #expect(try store.append(node: "n1", records: [record(last + 1)]) == last + 1)
    }
}

func run(_ tool: String, _ arguments: [String]) throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw VaultError(.io, "\(tool) \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
    }
}
