import Testing
@testable import RenkeiCSV

@Suite struct CP932Tests {
    static let rows = [
        ["宛名番号", "氏名", "カナ氏名", "住所", "備考"],
        ["０００１２３", "髙橋　一郎", "マツエ　タロウ", "松江市末次町86番地", "①"],
        ["000124", "ﾏﾂｴ ﾊﾅｺ", "ｶﾅ", "松江市殿町1番地, 2F", "\"引用\""],
    ]

    static func csvText(_ rows: [[String]]) -> String {
        rows.map { row in
            row.map { $0.contains(",") || $0.contains("\"") ? "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : $0 }
                .joined(separator: ",")
        }.joined(separator: "\r\n") + "\r\n"
    }

    @Test func encodesNECAndIBMExtensions() throws {
        // These are CP932-only: plain Shift_JIS has no ① (NEC row 13) or 髙 (IBM extension).
        #expect(try CP932.encode("①") == [0x87, 0x40])
        #expect(try CP932.encode("髙") == [0xFB, 0xFC])
        #expect(try CP932.encode("ｱ") == [0xB1])
        #expect(try CP932.decode([0x87, 0x40, 0xFB, 0xFC]) == "①髙")
    }

    @Test(arguments: chunkSizes)
    func readsJapaneseFile(chunkSize: Int) throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        let bytes = try CP932.encode(Self.csvText(Self.rows))
        try bytes.write(to: path)
        let reader = try CSVReader(path: path, encoding: .cp932, chunkSize: chunkSize)
        #expect(try readAll(reader).map(\.fields) == Self.rows)
    }

    @Test func chunkBoundarySplitsTwoByteCharacter() throws {
        let bytes = try CP932.encode("a,髙橋\n")
        // "a," is 2 bytes, so a 3-byte chunk ends after 髙's lead byte 0xFB.
        #expect(bytes[2] == 0xFB)
        let reader = try CSVReader(bytes: bytes, encoding: .cp932, chunkSize: 3)
        #expect(try readAll(reader).map(\.fields) == [["a", "髙橋"]])
    }

    @Test(arguments: chunkSizes)
    func invalidByteSequenceNamesLine(chunkSize: Int) throws {
        let bytes = try CP932.encode("氏名\n松江\n") + [0x81, 0x20] + Array("\n".utf8)
        let reader = try CSVReader(bytes: bytes, encoding: .cp932, chunkSize: chunkSize)
        #expect(try reader.next()?.fields == ["氏名"])
        #expect(try reader.next()?.fields == ["松江"])
        let error = try #require(firstError(reader))
        #expect(error.code == .encoding)
        #expect(error.line == 3)
        #expect(error.message.contains("CP932"))
    }

    @Test func truncatedCharacterAtEndOfInput() throws {
        let bytes = try CP932.encode("a\r\n") + [0x82]
        let error = try #require(firstError(try CSVReader(bytes: bytes, encoding: .cp932, chunkSize: 2)))
        #expect(error.code == .encoding)
        #expect(error.line == 2)
    }

    @Test func decodeReportsLine() throws {
        do {
            _ = try CP932.decode(Array("a\nb\n".utf8) + [0xFF])
            Issue.record("decoding 0xFF succeeded")
        } catch let error as CSVError {
            #expect(error.code == .encoding)
            #expect(error.line == 3)
        }
    }

    @Test func encodeRejectsUnmappableWithoutEchoingIt() throws {
        do {
            _ = try CP932.encode("ab😀")
            Issue.record("encoding an emoji succeeded")
        } catch let error as CSVError {
            #expect(error.code == .encoding)
            #expect(error.message.contains("character 3"))
            #expect(!error.message.contains("😀"))
        }
    }

    @Test func encodingNames() {
        for name in ["utf-8", "UTF8", "Utf-8"] {
            #expect(TextEncoding(name: name) == .utf8)
        }
        for name in ["cp932", "CP932", "Shift_JIS", "shift-jis", "SJIS", "Windows-31J"] {
            #expect(TextEncoding(name: name) == .cp932)
        }
        #expect(TextEncoding(name: "euc-jp") == nil)
        #expect(TextEncoding(name: "") == nil)
        #expect(TextEncoding.allCases.map(\.rawValue) == ["utf-8", "cp932"])
    }
}

import Foundation
