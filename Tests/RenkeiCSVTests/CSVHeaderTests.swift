import Testing
@testable import RenkeiCSV

@Suite struct CSVHeaderTests {
    static let header = CSVRecord(line: 1, fields: [" 宛名番号", "個人番号 ", "\u{3000}氏名\u{3000}", "備考"])

    @Test func mapsJapaneseNames() throws {
        let header = try CSVHeader(Self.header, required: ["宛名番号", "個人番号", "氏名"], optional: ["電話番号"])
        #expect(header.names == ["宛名番号", "個人番号", "氏名", "備考"])
        #expect(header.index(of: "宛名番号") == 0)
        #expect(header.index(of: "氏名") == 2)
        #expect(header.index(of: "電話番号") == nil)
    }

    @Test func listsEveryMissingRequiredColumn() throws {
        let record = CSVRecord(line: 1, fields: ["宛名番号", "備考"])
        do {
            _ = try CSVHeader(record, required: ["宛名番号", "個人番号", "氏名"])
            Issue.record("header without 個人番号 and 氏名 accepted")
        } catch let error as CSVError {
            #expect(error.code == .header)
            #expect(error.line == 1)
            #expect(error.message.contains("個人番号"))
            #expect(error.message.contains("氏名"))
            #expect(!error.message.contains("宛名番号"))
        }
    }

    @Test func singleMissingColumnMessage() throws {
        let record = CSVRecord(line: 1, fields: ["宛名番号"])
        let error = #expect(throws: CSVError.self) { try CSVHeader(record, required: ["宛名番号", "個人番号"]) }
        #expect(error?.message == "missing required column 個人番号")
    }

    @Test func duplicateKnownColumnIsRejected() throws {
        let record = CSVRecord(line: 1, fields: ["宛名番号", "氏名", " 氏名"])
        let error = #expect(throws: CSVError.self) { try CSVHeader(record, required: ["宛名番号", "氏名"]) }
        #expect(error?.code == .header)
        #expect(error?.message.contains("duplicate column 氏名") == true)
        let optional = #expect(throws: CSVError.self) {
            try CSVHeader(CSVRecord(line: 1, fields: ["a", "b", "b"]), required: ["a"], optional: ["b"])
        }
        #expect(optional?.message.contains("duplicate column b") == true)
    }

    @Test func duplicateUnknownColumnIsTolerated() throws {
        let header = try CSVHeader(CSVRecord(line: 1, fields: ["a", "", ""]), required: ["a"])
        #expect(header.index(of: "") == 1)
    }

    @Test func valueTrimsAndTreatsEmptyAsNil() throws {
        let header = try CSVHeader(Self.header, required: ["宛名番号", "個人番号", "氏名"], optional: ["電話番号"])
        let record = CSVRecord(line: 2, fields: ["  0001 ", "", "\u{3000}マツエ　タロウ\u{3000}", " "])
        #expect(header.value("宛名番号", in: record) == "0001")
        #expect(header.value("個人番号", in: record) == nil)
        #expect(header.value("氏名", in: record) == "マツエ　タロウ")
        #expect(header.value("備考", in: record) == nil)
        #expect(header.value("電話番号", in: record) == nil)
        let short = CSVRecord(line: 3, fields: ["0002"])
        #expect(header.value("氏名", in: short) == nil)
    }

    @Test func headerFromReader() throws {
        let reader = try CSVReader(bytes: Array("\u{FEFF}宛名番号,個人番号,氏名\n1,123456789012,髙橋\n".utf8), encoding: .utf8)
        let header = try CSVHeader(try #require(try reader.next()), required: ["宛名番号", "個人番号", "氏名"])
        let row = try #require(try reader.next())
        #expect(header.value("氏名", in: row) == "髙橋")
        #expect(header.value("個人番号", in: row) == "123456789012")
    }
}
