import Foundation
import Testing
@testable import RenkeiVault

@Suite struct SegmentTests {
    @Test func writerAndReaderRoundTrip() throws {
        var writer = SegmentWriter()
        let input = records(7...106) + [VaultRecord(seq: 107, commitTimeMs: 5, payload: [])]
        for r in input { try writer.append(r) }
        #expect(writer.firstSeq == 7 && writer.lastSeq == 107 && writer.recordCount == 101)
        #expect(writer.lastCommitTimeMs == 5, "clocks can step back")
        #expect(writer.maxCommitTimeMs == input[99].commitTimeMs)
        let frame = try writer.finish()
        #expect(Array(frame.prefix(4)) == [0x04, 0x22, 0x4D, 0x18], "an LZ4 frame")
        #expect(try SegmentReader.records(frame: frame, name: "s") == input)
    }

    @Test func writerRefusesOutOfOrderAndOversize() throws {
        var writer = SegmentWriter(limits: VaultLimits(maxRecordsPerSegment: 3, maxPayloadBytes: 100))
        try writer.append(record(1))
        #expect(thrownCode { try writer.append(record(3)) } == .gap)
        #expect(thrownCode { try writer.append(record(2, size: 101)) } == .limit)
        try writer.append(record(2))
        try writer.append(record(3))
        #expect(thrownCode { try writer.append(record(4)) } == .limit)
        var zero = SegmentWriter()
        #expect(thrownCode { try zero.append(record(0)) } == .gap)
    }

    @Test func readerRejectsBadContent() throws {
        var writer = SegmentWriter()
        for r in records(1...3) { try writer.append(r) }
        let good = writer.content
        var badMagic = good
        badMagic[0] = UInt8(ascii: "X")
        var badVersion = good
        badVersion[7] = 2
        let truncated = Array(good.dropLast(5))
        let headerCut = Array(good.prefix(SegmentFormat.headerBytes + 10))
        var skipped = good
        // The second record's seq (at header + first record) made 5 instead of 2.
        skipped[SegmentFormat.headerBytes + SegmentFormat.recordHeaderBytes + 40 + 7] = 5
        var huge = good
        huge[SegmentFormat.headerBytes + 16] = 0xFF
        for (content, what) in [(badMagic, "magic"), (badVersion, "version"), (truncated, "truncated"),
                                (headerCut, "header cut"), (skipped, "seq skip"), (huge, "length")] {
            let error = thrownError {
                var reader = try SegmentReader(content: content, name: "seg-x")
                while try reader.next() != nil {}
            }
            #expect(error?.code == .corrupt, "\(what)")
            #expect(error?.message.contains("seg-x") == true, "\(what): \(String(describing: error))")
        }
    }

    @Test func lz4DetectsDamageAndBoundsSize() throws {
        let content = (0..<100_000).map { UInt8(truncatingIfNeeded: $0 / 7) }
        let frame = try LZ4Frame.compress(content)
        #expect(try LZ4Frame.decompress(frame, maxBytes: content.count, what: "f") == content)
        #expect(thrownCode { _ = try LZ4Frame.decompress(frame, maxBytes: content.count - 1, what: "f") } == .limit)
        for offset in [frame.count / 2, frame.count - 2] {
            var damaged = frame
            damaged[offset] ^= 0x01
            #expect(thrownCode { _ = try LZ4Frame.decompress(damaged, maxBytes: 1 << 20, what: "f") } == .corrupt, "offset \(offset)")
        }
        #expect(thrownCode { _ = try LZ4Frame.decompress(Array(frame.dropLast(3)), maxBytes: 1 << 20, what: "f") } == .corrupt)
        #expect(thrownCode { _ = try LZ4Frame.decompress(frame + [0], maxBytes: 1 << 20, what: "f") } == .corrupt)
        #expect(thrownCode { _ = try LZ4Frame.decompress([], maxBytes: 1 << 20, what: "f") } == .corrupt)
    }

    /// The stock tool reads a stored segment, so an operator can inspect one
    /// without Renkei.
    @Test func stockLZ4ToolDecompressesASegment() throws {
        let tool = "/usr/bin/lz4"
        try #require(FileManager.default.isExecutableFile(atPath: tool),
                     "the stock lz4 tool is missing at \(tool): run Ops/deps.sh (it installs the Debian package lz4)")
        let t = try TemporaryVault()
        let store = try t.open()
        let input = records(1...50)
        try store.append(node: "n1", records: input)
        let segment = try #require(try store.segments(node: "n1").first)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = ["-d", "-c", t.path("nodes/n1/segments/" + segment.fileName)]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = Pipe()
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        var expected = SegmentWriter()
        for r in input { try expected.append(r) }
        #expect([UInt8](data) == expected.content)
        #expect(Array(data.prefix(6)) == Array("RKVSEG".utf8))
    }
}
