import RenkeiCore

/// Generates a municipality's synthetic register, one person at a time.
///
/// Person `i` depends only on the spec's municipality and seed and on `i`,
/// through a generator seeded with a mix of the three, so `person(at:)` is
/// random access and iterating is just `(0..<count).map(person(at:))`.
/// Nothing is retained between people: a million residents stream through
/// in constant memory.
public struct PopulationGenerator: Sequence, Sendable {
    /// What this generator produces.
    public let spec: PopulationSpec
    private let context: GenerationContext

    /// Prepares the municipality's tables (addresses, institutions, codes).
    public init(spec: PopulationSpec) {
        precondition(spec.count >= 0 && spec.count <= IdentifierSpace.capacity, "count out of range")
        precondition(spec.asOf.year >= 1975, "asOf too early")
        self.spec = spec
        self.context = GenerationContext(spec: spec)
    }

    /// The number of people, `spec.count`.
    public var count: Int { spec.count }

    /// The number of people, `spec.count`.
    public var underestimatedCount: Int { spec.count }

    /// Person `index` (0 ≤ index < count), the same on every call and machine.
    public func person(at index: Int) -> GeneratedPerson {
        precondition(index >= 0 && index < spec.count, "index out of range")
        return context.person(at: index)
    }

    /// Iterates persons 0, 1, … count−1.
    public struct Iterator: IteratorProtocol, Sendable {
        private let generator: PopulationGenerator
        private var index = 0

        init(_ generator: PopulationGenerator) { self.generator = generator }

        /// The next person, or nil after the last.
        public mutating func next() -> GeneratedPerson? {
            guard index < generator.spec.count else { return nil }
            defer { index += 1 }
            return generator.context.person(at: index)
        }
    }

    /// An iterator from person 0.
    public func makeIterator() -> Iterator { Iterator(self) }
}

/// Everything that is the same for every person of one population, built once.
final class GenerationContext: Sendable {
    let code: MunicipalityCode
    let asOf: LocalDate
    let asOfDay: Int
    let asOfMonth: YearMonth
    let baseSeed: UInt64
    let ids: IdentifierSpace
    let addresses: AddressBook
    let institutions: InstitutionDirectory
    /// Per-mille of surnames drawn from the Shimane table.
    let localSurnameShare: Int
    /// Real codes other than this one: origins of move-ins, destinations of move-outs.
    let otherCodes: [MunicipalityCode]
    /// The subset in the same prefecture, where most moves go.
    let nearbyCodes: [MunicipalityCode]
    let doses: DoseHistoryBuilder

    init(spec: PopulationSpec) {
        code = spec.municipality
        asOf = spec.asOf
        asOfDay = spec.asOf.daysSinceEpoch
        asOfMonth = try! YearMonth(year: spec.asOf.year, month: spec.asOf.month)
        // Folding the municipality into the seed keeps two towns generated
        // with the same seed from sharing people.
        baseSeed = SplitMix64.mix(spec.seed ^ SplitMix64.hash(spec.municipality.rawValue))
        ids = IdentifierSpace(salt: baseSeed)
        addresses = AddressBook(code: spec.municipality)
        localSurnameShare = spec.municipality.prefectureNumber == 32 ? 300 : 30
        institutions = InstitutionDirectory(code: spec.municipality, municipalityName: addresses.municipalityName,
                                            localSurnameShare: localSurnameShare)
        otherCodes = MunicipalityNames.knownCodes.filter { $0 != spec.municipality }
        nearbyCodes = otherCodes.filter { $0.prefectureNumber == spec.municipality.prefectureNumber }
        doses = DoseHistoryBuilder()
    }

    func person(at index: Int) -> GeneratedPerson {
        var rng = SeededGenerator(seed: SplitMix64.mix(baseSeed ^ SplitMix64.mix(UInt64(index))))

        // 48.5% male, as in Japan's population.
        let sex: Sex = rng.chance(perMille: 485) ? .male : .female
        let age = AgePyramid.age(&rng)
        let dob = AgePyramid.dateOfBirth(age: age, asOf: asOf, &rng)
        let dobDay = dob.daysSinceEpoch
        let name = PersonName.random(&rng, sex: sex, bornIn: dob.year, localShare: localSurnameShare)
        let address = addresses.address(&rng)

        let threeYearsAgo = asOfDay - 1095
        var movedIn: MoveEvent?
        var movedOut: MoveEvent?
        var deceasedOn: LocalDate?
        if rng.chance(perMille: 40) {
            let earliest = max(dobDay, asOfDay - 20 * 365)
            movedIn = MoveEvent(date: LocalDate(daysSinceEpoch: rng.between(earliest...asOfDay)), otherMunicipality: otherCode(&rng))
        }
        let settledDay = max(dobDay, movedIn?.date.daysSinceEpoch ?? dobDay)
        if rng.chance(perMille: 15) {
            let d = rng.between(max(settledDay, threeYearsAgo)...asOfDay)
            movedOut = MoveEvent(date: LocalDate(daysSinceEpoch: d), otherMunicipality: otherCode(&rng))
        } else if rng.chance(perMille: Self.deathPerMille(age: age)) {
            deceasedOn = LocalDate(daysSinceEpoch: rng.between(max(settledDay, threeYearsAgo)...asOfDay))
        }

        let addressNumber = ids.addressNumber(index: index)
        // Every field is built to satisfy Resident's rules: dates are ordered
        // above, names and addresses come from checked tables.
        let resident = try! Resident(
            addressNumber: addressNumber, individualNumber: ids.individualNumber(index: index),
            name: name.full, nameKana: name.kana, dateOfBirth: dob, sex: sex, address: address,
            movedIn: movedIn, movedOut: movedOut, deceasedOn: deceasedOn)

        // Doses end the day before a death or a move-out: after that the
        // record is no longer this municipality's to keep.
        var lastDay = asOfDay
        if let d = deceasedOn { lastDay = min(lastDay, d.daysSinceEpoch - 1) }
        if let m = movedOut { lastDay = min(lastDay, m.date.daysSinceEpoch - 1) }
        let records = doses.build(
            DoseHistoryBuilder.Person(
                dob: dob, dobDay: dobDay, kana: name.kana, addressNumber: addressNumber, lastDay: lastDay,
                movedInDay: movedIn?.date.daysSinceEpoch, previousMunicipality: movedIn?.otherMunicipality),
            context: self, &rng)
        return GeneratedPerson(resident: resident, vaccinations: records)
    }

    private func otherCode(_ rng: inout SeededGenerator) -> MunicipalityCode {
        if !nearbyCodes.isEmpty, rng.chance(perMille: 500) { return rng.pick(nearbyCodes) }
        return rng.pick(otherCodes)
    }

    /// Chance of having died in the last three years, by age, per-mille:
    /// about 1% overall, most of it among the very old.
    static func deathPerMille(age: Int) -> Int {
        switch age {
        case ..<50: return 1
        case ..<65: return 5
        case ..<80: return 15
        case ..<90: return 45
        default: return 100
        }
    }
}
