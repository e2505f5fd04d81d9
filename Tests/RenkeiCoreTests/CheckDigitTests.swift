import Testing
@testable import RenkeiCore

@Suite struct MunicipalityCodeTests {
    @Test(arguments: ["322016", "322024", "322032", "322067", "011002", "131016", "271004",
                      "012131", // remainder 0: check (11 − 0) mod 10 = 1
                      "012050"]) // remainder 1: check (11 − 1) mod 10 = 0
    func validCodes(_ text: String) throws {
        let code = try MunicipalityCode(text)
        #expect(code.rawValue == text)
    }

    @Test(arguments: ["322017", "322010", "011001", "012130", "012051"])
    func wrongCheckDigitIsRejected(_ text: String) {
        #expect(throws: ValidationError.self) { try MunicipalityCode(text) }
        do {
            _ = try MunicipalityCode(text)
        } catch {
            #expect(error.rule == .checkDigit)
            #expect(error.field.contains("municipalityCode"))
            #expect(!error.description.contains(text), "an error must not echo the value")
        }
    }

    @Test func lengthAndDigits() {
        #expect(throws: ValidationError(field: "municipalityCode (自治体コード)", rule: .length, message: "must be exactly 6 digits")) {
            try MunicipalityCode("32201")
        }
        #expect(throws: ValidationError.self) { try MunicipalityCode("3220１6") }
        do { _ = try MunicipalityCode("32201a") } catch { #expect(error.rule == .digitsOnly) }
        do { _ = try MunicipalityCode("") } catch { #expect(error.rule == .length) }
    }

    @Test func remainderEdgeCasesComputeAsSpecified() {
        // 0·6+1·5+2·4+1·3+3·2 = 22, 22 mod 11 = 0 → 1
        #expect(MunicipalityCode.checkDigit(forFirstFive: [0, 1, 2, 1, 3]) == 1)
        // 0·6+1·5+2·4+0·3+5·2 = 23, 23 mod 11 = 1 → 0
        #expect(MunicipalityCode.checkDigit(forFirstFive: [0, 1, 2, 0, 5]) == 0)
    }

    @Test func prefecture() throws {
        #expect(try MunicipalityCode("322016").prefectureNumber == 32)
        #expect(try MunicipalityCode("011002").prefectureNumber == 1)
    }
}

@Suite struct IndividualNumberTests {
    @Test(arguments: ["123456789018",
                      "000000000000",  // remainder 0 → 0
                      "000000000060",  // remainder 1 → 0
                      "000000712710",  // remainder 1 → 0
                      "000000158380",  // remainder 0 → 0
                      "987654321093"])
    func validNumbers(_ text: String) throws {
        #expect(try IndividualNumber(text).digits == text)
    }

    @Test(arguments: ["123456789017", "123456789019", "000000000061", "987654321090"])
    func wrongCheckDigit(_ text: String) {
        do {
            _ = try IndividualNumber(text)
            Issue.record("accepted a wrong check digit")
        } catch {
            #expect(error.rule == .checkDigit)
            #expect(error.field == "individualNumber (個人番号)")
            #expect(!error.description.contains(text))
        }
    }

    @Test func lengthAndDigits() {
        do { _ = try IndividualNumber("12345678901"); Issue.record("accepted 11 digits") } catch { #expect(error.rule == .length) }
        do { _ = try IndividualNumber("1234567890189"); Issue.record("accepted 13 digits") } catch { #expect(error.rule == .length) }
        do { _ = try IndividualNumber("12345678901A"); Issue.record("accepted a letter") } catch { #expect(error.rule == .digitsOnly) }
    }

    @Test func checkDigitFollowsTheWeights() {
        // Only the 11th digit set: P1 = 1, Q1 = 2 → r = 2 → 11 − 2 = 9.
        #expect(IndividualNumber.checkDigit(forFirstEleven: [0,0,0,0,0,0,0,0,0,0,1]) == 9)
        // Only the 1st digit set: P11 = 1, Q11 = 6 → r = 6 → 5.
        #expect(IndividualNumber.checkDigit(forFirstEleven: [1,0,0,0,0,0,0,0,0,0,0]) == 5)
        // P1 = 6 → r = 12 mod 11 = 1 → 0.
        #expect(IndividualNumber.checkDigit(forFirstEleven: [0,0,0,0,0,0,0,0,0,0,6]) == 0)
    }

    @Test func completing() throws {
        #expect(try IndividualNumber.completing(firstEleven: "12345678901").digits == "123456789018")
    }

    @Test func descriptionIsRedacted() throws {
        let n = try IndividualNumber("123456789018")
        #expect(!"\(n)".contains("123456789018"))
        #expect(!String(reflecting: n).contains("123456789018"))
        #expect(!"\(try AddressNumber("4711"))".contains("4711"))
    }
}
