import Testing
@testable import RenkeiCore

@Suite struct LocalDateTests {
    @Test func parsesTheUsualForms() throws {
        #expect(try LocalDate(parsing: "2021-04-12") == LocalDate(year: 2021, month: 4, day: 12))
        #expect(try LocalDate(parsing: "2021/4/2") == LocalDate(year: 2021, month: 4, day: 2))
        #expect(try LocalDate(parsing: "20210412") == LocalDate(year: 2021, month: 4, day: 12))
    }

    @Test(arguments: ["2021-02-29", "2021-13-01", "2021-00-10", "21-04-12", "2021-04-1x", "", "abcd-ef-gh", "1800-01-01"])
    func rejectsBadDates(_ text: String) {
        do {
            _ = try LocalDate(parsing: text, field: FieldName("dateOfBirth", "生年月日"))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.rule == .date)
            #expect(error.field == "dateOfBirth (生年月日)")
        }
    }

    @Test func epochRoundTrip() throws {
        for days in stride(from: -30_000, through: 60_000, by: 97) {
            let d = LocalDate(daysSinceEpoch: days)
            #expect(d.daysSinceEpoch == days)
        }
        #expect(try LocalDate(year: 1970, month: 1, day: 1).daysSinceEpoch == 0)
        #expect(try LocalDate(year: 2000, month: 3, day: 1).daysSinceEpoch == 11017)
    }

    @Test func fiscalYearAndAge() throws {
        #expect(try LocalDate(parsing: "2022-03-31").fiscalYear == 2021)
        #expect(try LocalDate(parsing: "2022-04-01").fiscalYear == 2022)
        let born = try LocalDate(parsing: "1950-06-15")
        #expect(born.age(on: try LocalDate(parsing: "2021-06-14")) == 70)
        #expect(born.age(on: try LocalDate(parsing: "2021-06-15")) == 71)
    }
}

func sampleResident() throws -> Resident {
    try Resident(
        addressNumber: AddressNumber("100000123"), individualNumber: IndividualNumber("123456789018"),
        name: "松江 太郎", nameKana: "マツエ　タロウ", dateOfBirth: LocalDate(parsing: "1950-06-15"),
        sex: .male, address: "島根県松江市末次町86番地",
        movedIn: MoveEvent(date: LocalDate(parsing: "2020-04-01"), otherMunicipality: MunicipalityCode("131016")))
}

func sampleVaccination() throws -> VaccinationRecord {
    let product = VaccineCatalog.product(id: "comirnaty")!
    return VaccinationRecord(
        fiscalYear: 2021, addressNumber: try AddressNumber("100000123"),
        vaccinationDate: try LocalDate(parsing: "2021-06-20"), kind: .specialTemporary, doseNumber: 1,
        judgement: .vaccinated, ageAtVaccination: 71, ageAtFiscalYearEnd: 71,
        billingMonth: try YearMonth(parsing: "2021-07"), medicalInstitution: "松江市立病院",
        place: "松江市立病院", implementationCategory: .individual, screeningDoctor: "医師 一郎",
        vaccinatingDoctor: "医師 一郎", vaccinationNumber: "0000123", manufacturer: product.manufacturer,
        lotNumber: "FF2782", doseMicroliters: 300, vaccinatingMunicipality: try MunicipalityCode("322016"),
        vrsImportedOn: try LocalDate(parsing: "2021-06-21"), vaccinePlatform: .mRNA,
        productName: product.productName,
        passport: PassportDetails(romanName: "MATSUE TARO", nationality: "JPN", passportNumber: "TK1234567"),
        certificateID: "C-322016-0001", certificateIssuedOn: try LocalDate(parsing: "2021-08-01"))
}

@Suite struct ResidentTests {
    @Test func kanaMustBeKatakana() throws {
        do {
            _ = try Resident(addressNumber: AddressNumber("1"), individualNumber: IndividualNumber("123456789018"),
                             name: "松江 太郎", nameKana: "まつえ たろう", dateOfBirth: LocalDate(parsing: "1950-06-15"),
                             sex: .male, address: "松江市")
            Issue.record("accepted hiragana as kana")
        } catch {
            #expect(error.field == "nameKana (氏名カナ)")
            #expect(error.rule == .format)
        }
    }

    @Test func deathBeforeBirthIsInconsistent() throws {
        do {
            _ = try Resident(addressNumber: AddressNumber("1"), individualNumber: IndividualNumber("123456789018"),
                             name: "松江 太郎", nameKana: "マツエ タロウ", dateOfBirth: LocalDate(parsing: "1950-06-15"),
                             sex: .male, address: "松江市", deceasedOn: LocalDate(parsing: "1940-01-01"))
            Issue.record("accepted death before birth")
        } catch {
            #expect(error.rule == .inconsistent)
            #expect(error.field.contains("死亡日"))
        }
    }

    @Test func binaryRoundTrip() throws {
        let r = try sampleResident()
        #expect(try Resident(decoding: r.encoded()) == r)
    }

    @Test func damagedBytesAreRejected() throws {
        var bytes = try sampleResident().encoded()
        bytes.removeLast()
        #expect(throws: RecordDecodingError.self) { try Resident(decoding: bytes) }
        #expect(throws: RecordDecodingError.self) { try Resident(decoding: [9] + bytes) }
    }

    @Test func csvRoundTrip() throws {
        let r = try sampleResident()
        let row = Dictionary(uniqueKeysWithValues: zip(ResidentCSVFormat.columns, ResidentCSVFormat.fields(of: r)))
        let parsed = try ResidentCSVFormat.parse { row[$0].flatMap { $0.isEmpty ? nil : $0 } }
        #expect(parsed == r)
    }

    @Test func moveCodeWithoutDateIsRejected() throws {
        var row = Dictionary(uniqueKeysWithValues: zip(ResidentCSVFormat.columns, ResidentCSVFormat.fields(of: try sampleResident())))
        row[ResidentCSVFormat.movedInOn] = ""
        do {
            _ = try ResidentCSVFormat.parse { row[$0].flatMap { $0.isEmpty ? nil : $0 } }
            Issue.record("accepted a move-in code without a date")
        } catch {
            #expect(error.field.contains("転入日"))
            #expect(error.rule == .required)
        }
    }
}

@Suite struct VaccinationRecordTests {
    @Test func validSampleValidates() throws {
        try sampleVaccination().validate()
        try sampleVaccination().validate(againstDateOfBirth: LocalDate(parsing: "1950-06-15"))
    }

    @Test func binaryAndCSVRoundTrip() throws {
        let v = try sampleVaccination()
        #expect(try VaccinationRecord(decoding: v.encoded()) == v)
        let row = Dictionary(uniqueKeysWithValues: zip(VaccinationCSVFormat.columns, VaccinationCSVFormat.fields(of: v)))
        #expect(VaccinationCSVFormat.columns.count == 31)
        #expect(!VaccinationCSVFormat.columns.contains("個人番号"))
        let parsed = try VaccinationCSVFormat.parse { row[$0].flatMap { $0.isEmpty ? nil : $0 } }
        #expect(parsed == v)
    }

    @Test func rulesNameTheField() throws {
        var v = try sampleVaccination()
        v.fiscalYear = 2020
        do { try v.validate(); Issue.record("wrong fiscal year accepted") } catch { #expect(error.field.contains("西暦年度")) }
        v = try sampleVaccination()
        v.lotNumber = nil
        do { try v.validate(); Issue.record("missing lot accepted") } catch { #expect(error.field.contains("Lot.No.")) }
        v = try sampleVaccination()
        v.manufacturer = "Unknown Pharma"
        do { try v.validate(); Issue.record("unknown manufacturer accepted") } catch { #expect(error.rule == .unknownValue) }
        v = try sampleVaccination()
        v.productName = "スパイクバックス筋注"
        do { try v.validate(); Issue.record("product/manufacturer mismatch accepted") } catch { #expect(error.rule == .inconsistent) }
        v = try sampleVaccination()
        v.ageAtVaccination = 50
        v.ageAtFiscalYearEnd = 50
        try v.validate()
        do { try v.validate(againstDateOfBirth: LocalDate(parsing: "1950-06-15")); Issue.record("age mismatch accepted") } catch {
            #expect(error.field.contains("接種日年齢"))
        }
    }

    @Test func screeningOnlyNeedsAReason() throws {
        var v = try sampleVaccination()
        v.judgement = .screeningOnly
        do { try v.validate(); Issue.record("accepted") } catch { #expect(error.field.contains("未接種理由")) }
        v.reasonNotVaccinated = "発熱のため"
        try v.validate()
    }

    @Test func milliliters() throws {
        #expect(try VaccinationCSVFormat.parseMilliliters("0.3") == 300)
        #expect(try VaccinationCSVFormat.parseMilliliters("0.25") == 250)
        #expect(try VaccinationCSVFormat.parseMilliliters("0.5mL") == 500)
        #expect(VaccinationCSVFormat.formatMilliliters(250) == "0.25")
        #expect(VaccinationCSVFormat.formatMilliliters(1000) == "1")
        #expect(throws: ValidationError.self) { try VaccinationCSVFormat.parseMilliliters("abc") }
        #expect(throws: ValidationError.self) { try VaccinationCSVFormat.parseMilliliters("0.3333") }
    }

    @Test func catalogIsConsistent() {
        #expect(Set(VaccineCatalog.products.map(\.id)).count == VaccineCatalog.products.count)
        for p in VaccineCatalog.products {
            #expect(p.usedFrom < p.usedUntil)
            #expect(VaccineCatalog.product(named: p.productName) == p)
        }
    }
}

@Suite struct TextRuleTests {
    @Test func controlCharactersAndLengthsAreCaught() {
        let f = FieldName("address", "住所")
        for bad in ["松江\u{0007}市", "a\u{7F}", "東\u{85}京", "line\nbreak"] {
            do { try TextRules.check(bad, field: f, maxCharacters: 50); Issue.record("accepted a control character") } catch {
                #expect(error.rule == .format)
            }
        }
        // U+00A0 and above are not control characters.
        #expect((try? TextRules.check("松江市\u{A0}末次町…①", field: f, maxCharacters: 50)) != nil)
        // Multi-byte text is limited by characters, not bytes.
        #expect((try? TextRules.check(String(repeating: "松", count: 50), field: f, maxCharacters: 50)) != nil)
        #expect((try? TextRules.check(String(repeating: "松", count: 51), field: f, maxCharacters: 50)) == nil)
    }
}
