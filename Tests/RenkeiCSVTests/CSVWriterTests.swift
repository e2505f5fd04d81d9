import Foundation
import Testing
@testable import RenkeiCSV

@Suite struct CSVWriterTests {
    static let tricky = [
        ["宛名番号", "氏名", "備考"],
        ["1", "a,b", "say \"hi\""],
        ["2", "line1\nline2", "cr\rlf\r\n"],
        ["3", "", "松江市末次町86番地"],
        ["4", "\"", ","],
    ]

    @Test(arguments: [false, true])
    func utf8RoundTrip(byteOrderMark: Bool) throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        let writer = try CSVWriter(path: path, encoding: .utf8, byteOrderMark: byteOrderMark)
        for row in Self.tricky { try writer.write(row) }
        try writer.finish()
        #expect(writer.rowsWritten == Self.tricky.count)

        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(raw.starts(with: [0xEF, 0xBB, 0xBF]) == byteOrderMark)
        let reader = try CSVReader(path: path, encoding: .utf8)
        let result = try readAll(reader)
        #expect(result.map(\.fields) == Self.tricky)
        // Row 3 holds three line breaks (LF, CR, CRLF), so row 4 starts on line 7.
        #expect(result.map(\.line) == [1, 2, 3, 7, 8])
    }

    @Test func quotesOnlyWhenNeeded() throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        let writer = try CSVWriter(path: path)
        try writer.write(["plain", "with space", "a,b", "q\"", ""])
        try writer.finish()
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text == "plain,with space,\"a,b\",\"q\"\"\",\r\n")
    }

    @Test func nothingUnderFinalNameBeforeFinish() throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        let writer = try CSVWriter(path: path)
        try writer.write(["a", "b"])
        let temporary = "\(path).tmp-\(ProcessInfo.processInfo.processIdentifier)"
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(FileManager.default.fileExists(atPath: temporary))
        try writer.finish()
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(throws: CSVError.self) { try writer.write(["late"]) }
    }

    @Test func abandonedWriterRemovesTemporaryFile() throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        let temporary = "\(path).tmp-\(ProcessInfo.processInfo.processIdentifier)"
        do {
            let writer = try CSVWriter(path: path)
            try writer.write(["a"])
            #expect(FileManager.default.fileExists(atPath: temporary))
        }
        #expect(!FileManager.default.fileExists(atPath: temporary))
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func finishReplacesExistingFile() throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        try Array("old,content\n".utf8).write(to: path)
        let writer = try CSVWriter(path: path)
        try writer.write(["new"])
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "old,content\n")
        try writer.finish()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "new\r\n")
    }

    @Test func cp932RoundTrip() throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        let rows = Self.tricky + [["5", "髙橋　①", "ﾏﾂｴ ﾀﾛｳ"]]
        let writer = try CSVWriter(path: path, encoding: .cp932, byteOrderMark: true)
        for row in rows { try writer.write(row) }
        try writer.finish()
        let raw = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(!raw.starts(with: [0xEF, 0xBB, 0xBF]))
        #expect(raw.contains(0xFB)) // 髙 = FB FC, i.e. really CP932
        #expect(try readAll(CSVReader(path: path, encoding: .cp932)).map(\.fields) == rows)
    }

    @Test func unmappableCharacterNamesRowAndColumnOnly() throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        let writer = try CSVWriter(path: path, encoding: .cp932)
        try writer.write(["宛名番号", "氏名"])
        do {
            try writer.write(["2", "松江😀太郎"])
            Issue.record("an emoji was written as CP932")
        } catch let error as CSVError {
            #expect(error.code == .encoding)
            #expect(error.message.contains("row 2"))
            #expect(error.message.contains("column 2"))
            #expect(!error.message.contains("😀"))
            #expect(!error.message.contains("松江"))
        }
        // The failed row is dropped whole and the writer stays usable.
        try writer.write(["3", "松江太郎"])
        try writer.finish()
        #expect(writer.rowsWritten == 2)
        #expect(try readAll(CSVReader(path: path, encoding: .cp932)).map(\.fields) == [["宛名番号", "氏名"], ["3", "松江太郎"]])
    }

    @Test func unwritableDirectoryIsIOError() throws {
        let error = #expect(throws: CSVError.self) {
            try CSVWriter(path: "/nonexistent-renkei-dir/out.csv")
        }
        #expect(error?.code == .io)
    }

    @Test func largeOutputIsFlushedInBlocks() throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        let writer = try CSVWriter(path: path)
        let row = [String(repeating: "x", count: 1000), "松江"]
        for _ in 0..<3000 { try writer.write(row) }
        try writer.finish()
        let reader = try CSVReader(path: path, encoding: .utf8)
        let result = try readAll(reader)
        #expect(result.count == 3000)
        #expect(result.last?.fields == row)
    }
}
