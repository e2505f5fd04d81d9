import Testing
import RenkeiCore
@testable import RenkeiSynth

@Suite struct TableTests {
    @Test func knownMunicipalitiesHaveValidCodesAndNames() throws {
        for entry in MunicipalityNames.known {
            let code = try MunicipalityCode(entry.code)
            #expect(MunicipalityNames.name(of: code) == entry.name)
            #expect(MunicipalityNames.prefectureName(of: code) != nil)
        }
        #expect(MunicipalityNames.name(of: matsue) == "松江市")
        #expect(MunicipalityNames.name(of: try MunicipalityCode("322024")) == "浜田市")
        #expect(MunicipalityNames.name(of: try MunicipalityCode("322067")) == "安来市")
        #expect(MunicipalityNames.name(of: try MunicipalityCode("012131")) == "苫小牧市")
        #expect(MunicipalityNames.name(of: try MunicipalityCode("012050")) == "室蘭市")
        #expect(MunicipalityNames.name(of: try MunicipalityCode("271004")) == "大阪市")
        #expect(MunicipalityNames.fullName(of: matsue) == "島根県松江市")
        #expect(MunicipalityNames.name(of: unknownShimane) == nil)
        #expect(MunicipalityNames.prefectureName(number: 1) == "北海道")
        #expect(MunicipalityNames.prefectureName(number: 13) == "東京都")
        #expect(MunicipalityNames.prefectureName(number: 47) == "沖縄県")
        #expect(MunicipalityNames.prefectureName(number: 48) == nil)
        #expect(MunicipalityNames.prefectures.count == 48)
    }

    @Test func nameTablesAreLargeAndReadingsAreKatakana() throws {
        #expect(NameTables.surnames.count >= 100)
        for sex in 0..<2 {
            #expect(NameTables.givenNames[sex].map(\.count).reduce(0, +) >= 60)
        }
        let all = NameTables.surnames + NameTables.shimaneSurnames + NameTables.givenNames.flatMap { $0.flatMap { $0 } }
        for entry in all {
            #expect(!entry.kanji.isEmpty)
            #expect((try? TextRules.checkKatakana(entry.kana, field: FieldName("kana"))) != nil, "\(entry.kanji)")
        }
        #expect(NameTables.surnames.contains { $0.kanji == "佐藤" && $0.kana == "サトウ" })
        #expect(NameTables.shimaneSurnames.contains { $0.kanji == "石倉" && $0.kana == "イシクラ" })
    }

    @Test func scheduleProductsAreInTheCatalog() {
        for phase in [CampaignSchedule.children, CampaignSchedule.primary] + CampaignSchedule.boosters {
            for entry in phase.products { #expect(VaccineCatalog.product(id: entry.id) != nil, "\(entry.id)") }
            #expect(phase.uptake.count == 6)
            #expect(phase.start <= phase.peakEnd && phase.peakEnd <= phase.end)
        }
    }

    @Test func lotNumbersLookLikeTheManufacturers() {
        for product in VaccineCatalog.products {
            let lots = LotNumbers.table[product.id]!
            #expect(Set(lots).count == LotNumbers.lotsPerProduct)
            if product.manufacturer == "ファイザー社" {
                #expect(lots.allSatisfy { $0.utf8.count == 6 && $0.utf8.suffix(4).allSatisfy { (0x30...0x39).contains($0) } })
            }
            if product.manufacturer == "武田/モデルナ社" {
                #expect(lots.allSatisfy { $0.utf8.count == 7 && $0.hasPrefix("300") })
            }
        }
    }

    @Test(arguments: [
        ("サトウ　タロウ", "SATO TARO"), ("イノウエ　ヨウコ", "INOUE YOKO"), ("オオタ　シュウイチ", "OTA SHUICHI"),
        ("ナンバ　ジュンコ", "NAMBA JUNKO"), ("ハットリ　キョウコ", "HATTORI KYOKO"), ("ホッタ　マッチ", "HOTTA MATCHI"),
        ("スズキ　ハルト", "SUZUKI HARUTO"),
    ])
    func passportRomanization(_ kana: String, _ roman: String) {
        #expect(Romanization.passportName(fromKatakana: kana) == roman)
    }

    @Test func zeroPaddingAndIdentifierBijections() {
        #expect(zeroPadded(42, width: 5) == "00042")
        #expect(zeroPadded(123_456, width: 3) == "456")
        let space = IdentifierSpace(salt: 99)
        #expect(space.individualNumber(index: 0).digits.utf8.count == 12)
        #expect(space.addressNumber(index: 0).digits.utf8.count == 10)
        // Huge indices must not overflow the affine map.
        #expect(space.individualNumber(index: 8_999_999_999).digits.utf8.count == 12)
        #expect(space.addressNumber(index: 8_999_999_999).digits.utf8.count == 10)
    }
}
