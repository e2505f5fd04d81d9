import Foundation
import Logging
import Testing
import RenkeiCSV
import RenkeiCore
import RenkeiTenantStore

/// An import killed with SIGKILL right after it reported acknowledged writes
/// keeps every acknowledged row.
@Suite(.serialized) struct CrashDurabilityTests {
    @Test func sigkillAfterAcknowledgedBatchesLosesNothing() throws {
        let d = try Scratch()
        let node = d.path + "/node"
        try Renkei.run(["init", "--data", node])
        try Renkei.run(["tenant", "add", "--data", node, "--code", "322016", "--name", "松江市"])
        try Renkei.run(["gen", "--code", "322016", "--count", "40000", "--seed", "5", "--out", d.path + "/gen"])

        let process = Process()
        process.executableURL = URL(fileURLWithPath: Renkei.executable)
        process.arguments = ["import", "residents", "--data", node, "--code", "322016", "--batch-rows", "200",
                             "--progress", "lines", d.path + "/gen/residents.csv"]
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()

        // Read "committed: N rows" lines until enough rows are acknowledged, then kill at once.
        var acknowledged = 0
        var buffer = ""
        let handle = err.fileHandleForReading
        while acknowledged < 2_000 {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            buffer += String(decoding: chunk, as: UTF8.self)
            for line in buffer.split(separator: "\n") where line.hasPrefix("committed: ") {
                acknowledged = max(acknowledged, Int(line.dropFirst("committed: ".count).split(separator: " ")[0]) ?? 0)
            }
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the import must have been killed, not finished")
        #expect(acknowledged >= 2_000)

        // Every acknowledged row is there after reopening.
        let store = try NodeStore.open(NodeDirectory(node), logger: Logger(label: "test"))
        let tenant = try store.tenant(try MunicipalityCode("322016"))
        let reader = try CSVReader(path: d.path + "/gen/residents.csv", encoding: .utf8)
        let header = try CSVHeader(try #require(try reader.next()), required: ResidentCSVFormat.requiredColumns,
                                   optional: ResidentCSVFormat.optionalColumns)
        var expected: [Resident] = []
        while expected.count < acknowledged, let row = try reader.next() {
            expected.append(try ResidentCSVFormat.parse { header.value($0, in: row) })
        }
        var missing = 0
        for chunk in stride(from: 0, to: expected.count, by: 1_000) {
            let part = Array(expected[chunk..<min(chunk + 1_000, expected.count)])
            for (want, got) in zip(part, try tenant.residents(numbers: part.map(\.individualNumber))) where got != want {
                missing += 1
            }
        }
        #expect(missing == 0, "\(missing) of \(acknowledged) acknowledged rows were lost")
        #expect(try tenant.counts().residents >= acknowledged)
        #expect(try tenant.counts().residents < 40_000, "the kill came before the import finished")
    }
}
