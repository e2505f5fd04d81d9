import Testing
@testable import RenkeiCSV

@Suite struct CSVReaderTests {
    @Test(arguments: chunkSizes)
    func simpleRows(chunkSize: Int) throws {
        let result = try records("a,b,c\n1,2,3\n", chunkSize: chunkSize)
        #expect(result.map(\.fields) == [["a", "b", "c"], ["1", "2", "3"]])
        #expect(result.map(\.line) == [1, 2])
    }

    @Test(arguments: chunkSizes)
    func quotedCommasAndDoubledQuotes(chunkSize: Int) throws {
        let result = try records("\"a,b\",\"say \"\"hi\"\"\",\"\"\n", chunkSize: chunkSize)
        #expect(result.map(\.fields) == [["a,b", "say \"hi\"", ""]])
    }

    @Test(arguments: chunkSizes)
    func embeddedNewlinesKeepLineNumbers(chunkSize: Int) throws {
        let text = "h1,h2\n\"line1\nline2\r\nline3\rline4\",x\nnext,row\n"
        let result = try records(text, chunkSize: chunkSize)
        #expect(result.count == 3)
        #expect(result[1].fields == ["line1\nline2\r\nline3\rline4", "x"])
        #expect(result.map(\.line) == [1, 2, 6])
    }

    @Test(arguments: chunkSizes)
    func crlfRecordEnds(chunkSize: Int) throws {
        let result = try records("a,b\r\nc,d\r\n\r\ne,f\r\n", chunkSize: chunkSize)
        #expect(result.map(\.fields) == [["a", "b"], ["c", "d"], ["e", "f"]])
        #expect(result.map(\.line) == [1, 2, 4])
    }

    @Test(arguments: chunkSizes)
    func finalRecordWithoutNewline(chunkSize: Int) throws {
        let result = try records("a,b\nc,\"d\"", chunkSize: chunkSize)
        #expect(result.map(\.fields) == [["a", "b"], ["c", "d"]])
    }

    @Test(arguments: chunkSizes)
    func loneCREndsRecords(chunkSize: Int) throws {
        let result = try records("a\rb,c\r\rd", chunkSize: chunkSize)
        #expect(result.map(\.fields) == [["a"], ["b", "c"], ["d"]])
        #expect(result.map(\.line) == [1, 2, 4])
    }

    @Test func recordExactlyAtLimitAcrossChunks() throws {
        let limits = CSVLimits(maxFieldBytes: 100, maxRecordBytes: 10)
        // The CR of record 1 ends the first chunk; it must not count.
        let result = try records("0123456789\r\nab\r\n", chunkSize: 11, limits: limits)
        #expect(result.map(\.fields) == [["0123456789"], ["ab"]])
    }

    @Test func trailingCommaGivesEmptyLastField() throws {
        let result = try records("a,\n,\n")
        #expect(result.map(\.fields) == [["a", ""], ["", ""]])
    }

    @Test(arguments: chunkSizes)
    func emptyLinesSkipped(chunkSize: Int) throws {
        let result = try records("\n\na\n\n\r\n\nb\n\n", chunkSize: chunkSize)
        #expect(result.map(\.fields) == [["a"], ["b"]])
        #expect(result.map(\.line) == [3, 7])
    }

    @Test func whitespaceOnlyLineIsARecord() throws {
        #expect(try records(" \n").map(\.fields) == [[" "]])
    }

    @Test func emptyInputHasNoRecords() throws {
        #expect(try records("").isEmpty)
        #expect(try records("\r\n\n").isEmpty)
    }

    @Test(arguments: chunkSizes)
    func byteOrderMarkStripped(chunkSize: Int) throws {
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("宛名番号,氏名\n".utf8)
        let reader = try CSVReader(bytes: bytes, encoding: .utf8, chunkSize: chunkSize)
        #expect(try readAll(reader).map(\.fields) == [["宛名番号", "氏名"]])
    }

    @Test func shortInputIsNotMistakenForBOM() throws {
        #expect(try records("a").map(\.fields) == [["a"]])
        #expect(try records("ab").map(\.fields) == [["ab"]])
    }

    @Test(arguments: chunkSizes)
    func unterminatedQuoteNamesOpeningLine(chunkSize: Int) throws {
        let error = try #require(try firstError("a,b\nc,\"open\nmore\n", chunkSize: chunkSize))
        #expect(error.code == .syntax)
        #expect(error.line == 2)
        #expect(error.message.contains("column 2"))
        #expect(!error.message.contains("open"))
    }

    @Test(arguments: chunkSizes)
    func quoteInsideUnquotedFieldIsSyntaxError(chunkSize: Int) throws {
        let error = try #require(try firstError("ok\nab\"secret\"\n", chunkSize: chunkSize))
        #expect(error.code == .syntax)
        #expect(error.line == 2)
        #expect(!error.message.contains("secret"))
    }

    @Test func textAfterClosingQuoteIsSyntaxError() throws {
        let error = try #require(try firstError("x\n\n\"ab\"cd,e\n"))
        #expect(error.code == .syntax)
        #expect(error.line == 3)
        #expect(error.description.hasPrefix("line 3: "))
    }

    @Test func recordsBeforeAnErrorAreDelivered() throws {
        let reader = try CSVReader(bytes: Array("a\nb\"\nc\n".utf8), encoding: .utf8)
        #expect(try reader.next()?.fields == ["a"])
        #expect(throws: CSVError.self) { try reader.next() }
        // Errors are sticky: the reader does not resynchronise.
        #expect(throws: CSVError.self) { try reader.next() }
    }

    @Test(arguments: chunkSizes)
    func invalidUTF8NamesLine(chunkSize: Int) throws {
        let bytes = Array("a,b\nc,d\ne,".utf8) + [0xC3, 0x28] + Array("\nf\n".utf8)
        let reader = try CSVReader(bytes: bytes, encoding: .utf8, chunkSize: chunkSize)
        #expect(try reader.next()?.fields == ["a", "b"])
        #expect(try reader.next()?.fields == ["c", "d"])
        let error = try #require(firstError(reader))
        #expect(error.code == .encoding)
        #expect(error.line == 3)
    }

    @Test func invalidUTF8InsideQuotedMultilineField() throws {
        let bytes = Array("h\n\"one\ntwo\n".utf8) + [0xFF] + Array("\"\n".utf8)
        let error = try #require(firstError(try CSVReader(bytes: bytes, encoding: .utf8)))
        #expect(error.code == .encoding)
        #expect(error.line == 4)
    }

    @Test func overlongAndSurrogateUTF8Rejected() throws {
        for bad: [UInt8] in [[0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            let error = try #require(firstError(try CSVReader(bytes: bad, encoding: .utf8)))
            #expect(error.code == .encoding)
        }
    }

    @Test func truncatedUTF8AtEndOfInput() throws {
        let bytes = Array("a\n".utf8) + [0xE6, 0x9D]
        let error = try #require(firstError(try CSVReader(bytes: bytes, encoding: .utf8, chunkSize: 1)))
        #expect(error.code == .encoding)
        #expect(error.line == 2)
    }

    @Test(arguments: chunkSizes)
    func multibyteUTF8AcrossChunks(chunkSize: Int) throws {
        let result = try records("松江市,😀\n", chunkSize: chunkSize)
        #expect(result.map(\.fields) == [["松江市", "😀"]])
    }

    @Test(arguments: [3, 1 << 20])
    func fieldLimitNamesLine(chunkSize: Int) throws {
        let limits = CSVLimits(maxFieldBytes: 8)
        #expect(try records("12345678,\"abcdefgh\"\n", chunkSize: chunkSize, limits: limits).count == 1)
        let unquoted = try #require(try firstError("ok\nfine,123456789\n", chunkSize: chunkSize, limits: limits))
        #expect(unquoted.code == .limit)
        #expect(unquoted.line == 2)
        #expect(unquoted.message.contains("maxFieldBytes"))
        #expect(unquoted.message.contains("column 2"))
        let quoted = try #require(try firstError("ok\n\"1234\n56789\"\n", chunkSize: chunkSize, limits: limits))
        #expect(quoted.code == .limit)
        #expect(quoted.line == 2)
    }

    @Test func doubledQuotesCountOnceTowardsFieldLimit() throws {
        let limits = CSVLimits(maxFieldBytes: 4)
        #expect(try records("\"\"\"\"\"\"\"\"\"\"\n", limits: limits).first?.fields == ["\"\"\"\""])
    }

    @Test func tooManyFields() throws {
        let limits = CSVLimits(maxFields: 3)
        #expect(try records("a,b,c\n", limits: limits).count == 1)
        let error = try #require(try firstError("a,b,c\n\na,b,c,d\n", limits: limits))
        #expect(error.code == .limit)
        #expect(error.line == 3)
        #expect(error.message.contains("maxFields"))
    }

    @Test(arguments: [4, 1 << 20])
    func recordLimit(chunkSize: Int) throws {
        let limits = CSVLimits(maxFieldBytes: 100, maxRecordBytes: 10)
        #expect(try records("12345,7890\n", chunkSize: chunkSize, limits: limits).count == 1)
        let error = try #require(try firstError("a\n12345,78901\n", chunkSize: chunkSize, limits: limits))
        #expect(error.code == .limit)
        #expect(error.line == 2)
        #expect(error.message.contains("maxRecordBytes"))
    }

    @Test func unterminatedQuoteStopsAtRecordLimit() throws {
        // Without limits an unterminated quote would buffer the whole file.
        let text = "\"" + String(repeating: "x\n", count: 5000)
        let error = try #require(try firstError(text, chunkSize: 64, limits: CSVLimits(maxFieldBytes: 1 << 20, maxRecordBytes: 1000)))
        #expect(error.code == .limit)
        #expect(error.line == 1)
    }

    @Test func readsFileWithProgress() throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        let text = "宛名番号,氏名\n0001,松江 太郎\n0002,\"出雲, 花子\"\n"
        try Array(text.utf8).write(to: path)
        let reader = try CSVReader(path: path, encoding: .utf8, chunkSize: 7)
        #expect(reader.totalBytes == text.utf8.count)
        #expect(reader.bytesRead == 0)
        let result = try readAll(reader)
        #expect(result.map(\.fields) == [["宛名番号", "氏名"], ["0001", "松江 太郎"], ["0002", "出雲, 花子"]])
        #expect(reader.bytesRead == text.utf8.count)
    }

    @Test func missingFileIsIOError() throws {
        let path = temporaryPath("absent.csv")
        defer { removeDirectory(of: path) }
        do {
            _ = try CSVReader(path: path, encoding: .utf8)
            Issue.record("opening a missing file succeeded")
        } catch let error as CSVError {
            #expect(error.code == .io)
            #expect(error.line == nil)
            #expect((error.cause as? SystemError)?.errno == 2)
        }
    }

    @Test func fiftyThousandGeneratedRows() throws {
        let path = temporaryPath()
        defer { removeDirectory(of: path) }
        var text = "宛名番号,個人番号,氏名,住所\r\n"
        for number in 1...50_000 {
            text += "\(number),\(100_000_000_000 + number),\"マツエ　タロウ\(number)\",\"松江市末次町\(number)番地, \"\"A\"\"棟\"\r\n"
        }
        try Array(text.utf8).write(to: path)
        let reader = try CSVReader(path: path, encoding: .utf8)
        #expect(try #require(reader.totalBytes) > 1 << 20) // crosses chunk boundaries
        var count = 0
        var last: CSVRecord?
        while let record = try reader.next() {
            count += 1
            last = record
        }
        #expect(count == 50_001)
        let final = try #require(last)
        #expect(final.line == 50_001)
        #expect(final.fields == ["50000", "100000050000", "マツエ　タロウ50000", "松江市末次町50000番地, \"A\"棟"])
    }
}

extension Array where Element == UInt8 {
    func write(to path: String) throws {
        try Data(self).write(to: URL(fileURLWithPath: path))
    }
}

import Foundation
