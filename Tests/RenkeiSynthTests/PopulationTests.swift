import Testing
import RenkeiCore
@testable import RenkeiSynth

@Suite struct DeterminismTests {
    @Test func sameSpecSamePeople() {
        let a = people(matsue, count: 500, seed: 7)
        let b = people(matsue, count: 500, seed: 7)
        #expect(a == b)
    }

    @Test func differentSeedsOrTownsDiffer() {
        let a = people(matsue, count: 200, seed: 7)
        let b = people(matsue, count: 200, seed: 8)
        let c = people(izumo, count: 200, seed: 7)
        let same = zip(a, b).filter { $0.resident.name == $1.resident.name && $0.resident.dateOfBirth == $1.resident.dateOfBirth }
        #expect(same.count < 10)
        #expect(Set(a.map(\.resident.individualNumber)).isDisjoint(with: b.map(\.resident.individualNumber)))
        #expect(Set(a.map(\.resident.individualNumber)).isDisjoint(with: c.map(\.resident.individualNumber)))
    }

    @Test func randomAccessMatchesIteration() {
        let generator = PopulationGenerator(spec: PopulationSpec(municipality: sapporo, count: 300, seed: 3))
        let iterated = Array(generator)
        #expect(iterated.count == 300)
        for i in [0, 1, 17, 150, 299] { #expect(generator.person(at: i) == iterated[i]) }
        // Order of access does not matter.
        #expect(generator.person(at: 299) == generator.person(at: 299))
    }

    @Test func countsAreHonoured() {
        #expect(people(matsue, count: 0, seed: 1).isEmpty)
        #expect(PopulationGenerator(spec: PopulationSpec(municipality: matsue, count: 12, seed: 1)).underestimatedCount == 12)
    }
}

@Suite struct IdentifierTests {
    @Test func individualAndAddressNumbersAreUniqueOver200k() {
        let generator = PopulationGenerator(spec: PopulationSpec(municipality: matsue, count: 200_000, seed: 2025))
        var numbers = Set<String>(minimumCapacity: 200_000)
        var addresses = Set<String>(minimumCapacity: 200_000)
        for person in generator {
            numbers.insert(person.resident.individualNumber.digits)
            addresses.insert(person.resident.addressNumber.digits)
        }
        #expect(numbers.count == 200_000)
        #expect(addresses.count == 200_000)
        #expect(addresses.allSatisfy { $0.utf8.count == 10 && !$0.hasPrefix("0") })
    }

    @Test func numbersCarryValidCheckDigits() throws {
        for person in people(chiyoda, count: 2_000, seed: 11) {
            // Re-parsing re-checks the check digit.
            _ = try IndividualNumber(person.resident.individualNumber.digits)
        }
    }
}

@Suite struct ValidityTests {
    static let populations: [(MunicipalityCode, UInt64)] = [
        (matsue, 1), (matsue, 99), (izumo, 5), (sapporo, 1), (chiyoda, 123_456_789), (unknownShimane, 42),
        (try! MunicipalityCode("012131"), 8), (try! MunicipalityCode("271004"), 0),
    ]

    /// 8 populations × 2,500 = 20,000 people: every resident passes Core's
    /// init again, every record passes both validations, histories are sane.
    @Test(arguments: populations)
    func everyRecordValidates(_ code: MunicipalityCode, _ seed: UInt64) throws {
        let asOf = PopulationSpec.defaultAsOf
        for person in people(code, count: 2_500, seed: seed) {
            let r = person.resident
            let again = try Resident(
                addressNumber: r.addressNumber, individualNumber: r.individualNumber, name: r.name, nameKana: r.nameKana,
                dateOfBirth: r.dateOfBirth, sex: r.sex, address: r.address, movedIn: r.movedIn, movedOut: r.movedOut,
                deceasedOn: r.deceasedOn)
            #expect(again == r)
            #expect(r.dateOfBirth <= asOf)
            #expect((0...AgePyramid.maxAge).contains(r.dateOfBirth.age(on: asOf)))
            for d in [r.movedIn?.date, r.movedOut?.date, r.deceasedOn].compactMap({ $0 }) {
                #expect(d >= r.dateOfBirth && d <= asOf)
            }
            #expect(r.movedOut == nil || r.deceasedOn == nil)
            if let inCode = r.movedIn?.otherMunicipality { #expect(inCode != code) }
            #expect(r.name.contains("　") && r.nameKana.contains("　"))

            var expectedDose = 1
            var previous: LocalDate?
            for v in person.vaccinations {
                try v.validate()
                try v.validate(againstDateOfBirth: r.dateOfBirth)
                #expect(v.addressNumber == r.addressNumber)
                if let previous { #expect(previous <= v.vaccinationDate) }
                previous = v.vaccinationDate
                #expect(v.vaccinationDate <= asOf)
                if let died = r.deceasedOn { #expect(v.vaccinationDate < died) }
                if let left = r.movedOut { #expect(v.vaccinationDate < left.date) }
                if let came = r.movedIn {
                    #expect(v.vaccinatingMunicipality == (v.vaccinationDate < came.date ? came.otherMunicipality : code))
                } else {
                    #expect(v.vaccinatingMunicipality == code)
                }
                if v.judgement == .vaccinated {
                    #expect(v.doseNumber == expectedDose)
                    expectedDose += 1
                    #expect(v.ageAtVaccination >= 5)
                    let product = try #require(v.productName.flatMap(VaccineCatalog.product(named:)))
                    #expect(product.isInUse(on: v.vaccinationDate))
                    #expect(v.manufacturer == product.manufacturer)
                    #expect(v.kind == (v.vaccinationDate.daysSinceEpoch <= CampaignSchedule.specialTemporaryEnd ? .specialTemporary
                        : (v.ageAtVaccination >= 60 ? .routine : .voluntary)))
                } else {
                    #expect(v.reasonNotVaccinated != nil)
                    #expect(v.doseNumber == expectedDose)
                }
                if let billing = v.billingMonth {
                    let next = v.vaccinationDate.month == 12
                        ? try YearMonth(year: v.vaccinationDate.year + 1, month: 1)
                        : try YearMonth(year: v.vaccinationDate.year, month: v.vaccinationDate.month + 1)
                    #expect(billing == next)
                }
                if let passport = v.passport {
                    #expect(passport.nationality == "JPN")
                    #expect(passport.passportNumber.hasPrefix("TK") && passport.passportNumber.utf8.count == 9)
                    #expect(passport.romanName.utf8.allSatisfy { $0 == 0x20 || (0x41...0x5A).contains($0) })
                    #expect(v.certificateID != nil)
                }
            }
        }
    }
}

@Suite struct DistributionTests {
    static let sample: [GeneratedPerson] = people(matsue, count: 20_000, seed: 2024)
    static let asOf = PopulationSpec.defaultAsOf

    func share(_ predicate: (GeneratedPerson) -> Bool) -> Double {
        Double(Self.sample.filter(predicate).count) / Double(Self.sample.count)
    }

    func doses(_ p: GeneratedPerson) -> Int { p.vaccinations.filter { $0.judgement == .vaccinated }.count }

    @Test func sexRatio() {
        let male = share { $0.resident.sex == .male }
        #expect(male > 0.45 && male < 0.52)
    }

    @Test func ageStructure() {
        let old = share { $0.resident.dateOfBirth.age(on: Self.asOf) >= 65 }
        #expect(old > 0.25 && old < 0.35)
        let young = share { $0.resident.dateOfBirth.age(on: Self.asOf) < 15 }
        #expect(young > 0.08 && young < 0.16)
        #expect(Self.sample.contains { $0.resident.dateOfBirth.age(on: Self.asOf) >= 95 })
    }

    @Test func doseUptake() {
        let twoOrMore = share { doses($0) >= 2 }
        #expect(twoOrMore > 0.65 && twoOrMore < 0.9)
        let three = share { doses($0) >= 3 }
        #expect(three > 0.5 && three < 0.75)
        // Uptake rises with age: far more of the over-65s have had 5+ doses.
        let elderly = Self.sample.filter { $0.resident.dateOfBirth.age(on: Self.asOf) >= 70 }
        let adults = Self.sample.filter { (20..<50).contains($0.resident.dateOfBirth.age(on: Self.asOf)) }
        let elderlyFive = Double(elderly.filter { doses($0) >= 5 }.count) / Double(elderly.count)
        let adultFive = Double(adults.filter { doses($0) >= 5 }.count) / Double(adults.count)
        #expect(elderlyFive > 0.5 && adultFive < 0.2)
        // The 2024 routine round reached some of the over-65s.
        #expect(Self.sample.contains { $0.vaccinations.contains { $0.kind == .routine } })
    }

    @Test func statusFlags() {
        let movedIn = share { $0.resident.movedIn != nil }
        #expect(movedIn > 0.02 && movedIn < 0.06)
        let movedOut = share { $0.resident.movedOut != nil }
        #expect(movedOut > 0.007 && movedOut < 0.025)
        let deceased = share { $0.resident.deceasedOn != nil }
        #expect(deceased > 0.005 && deceased < 0.02)
    }

    @Test func screeningsAndCertificatesAreRareButPresent() {
        let records = Self.sample.flatMap(\.vaccinations)
        let screening = Double(records.filter { $0.judgement == .screeningOnly }.count) / Double(records.count)
        #expect(screening > 0.003 && screening < 0.03)
        let certified = share { $0.vaccinations.contains { $0.certificateID != nil } }
        #expect(certified > 0.001 && certified < 0.012)
        // Both of the early big products show up, and the JN.1 ones too.
        let products = Set(records.compactMap(\.productName))
        #expect(products.contains("コミナティ筋注") && products.contains("スパイクバックス筋注"))
        #expect(products.contains { $0.contains("JN.1") })
    }

    @Test func olderPeopleHaveOlderNames() {
        let old = Self.sample.filter { $0.resident.dateOfBirth.year < 1945 && $0.resident.sex == .female }
        let withKo = old.filter { $0.resident.name.hasSuffix("子") }.count
        #expect(Double(withKo) / Double(old.count) > 0.5)
    }
}

@Suite struct AddressTests {
    @Test(arguments: [
        (matsue, "島根県松江市"), (izumo, "島根県出雲市"), (sapporo, "北海道札幌市"), (chiyoda, "東京都千代田区"),
        (try! MunicipalityCode("322024"), "島根県浜田市"), (try! MunicipalityCode("322067"), "島根県安来市"),
        (try! MunicipalityCode("012050"), "北海道室蘭市"),
    ])
    func addressesStartWithPrefectureAndMunicipality(_ code: MunicipalityCode, _ prefix: String) {
        for person in people(code, count: 300, seed: 9) {
            #expect(person.resident.address.hasPrefix(prefix))
        }
    }

    @Test func matsueAddressesUseRealTowns() {
        let addresses = people(matsue, count: 2_000, seed: 9).map(\.resident.address)
        for town in ["殿町", "学園南", "浜乃木", "東出雲町揖屋"] {
            #expect(addresses.contains { $0.hasPrefix("島根県松江市" + town) }, "\(town)")
        }
    }

    @Test func unknownCodesFallBackToThePrefecture() {
        for person in people(unknownShimane, count: 200, seed: 9) {
            #expect(person.resident.address.hasPrefix("島根県"))
            #expect(!person.resident.address.hasPrefix("島根県松江市"))
        }
    }
}
