import RenkeiCore

/// What population to generate: where, how many, from which seed, as of when.
public struct PopulationSpec: Sendable, Hashable {
    /// The municipality whose register is generated.
    public var municipality: MunicipalityCode
    /// Number of residents.
    public var count: Int
    /// The seed; with the municipality and the index it determines each person.
    public var seed: UInt64
    /// "Today": ages are counted to it and dose histories end on it.
    public var asOf: LocalDate

    /// The default `asOf`, the last day of fiscal 2024 and of the 2024
    /// routine vaccination round.
    public static let defaultAsOf = try! LocalDate(year: 2025, month: 3, day: 31)

    /// - Precondition: `count` is between 0 and 9,000,000,000 (the size of
    ///   the 宛名番号 space), and `asOf` is after 1975 so everyone is born
    ///   after LocalDate's earliest year.
    public init(municipality: MunicipalityCode, count: Int, seed: UInt64, asOf: LocalDate = PopulationSpec.defaultAsOf) {
        precondition(count >= 0 && count <= IdentifierSpace.capacity, "count out of range")
        precondition(asOf.year >= 1975, "asOf too early")
        self.municipality = municipality
        self.count = count
        self.seed = seed
        self.asOf = asOf
    }
}

/// One synthetic resident and their vaccination file, oldest record first.
public struct GeneratedPerson: Sendable, Hashable {
    /// The resident as the register holds them.
    public let resident: Resident
    /// Doses and screenings, in date order; empty for the unvaccinated.
    public let vaccinations: [VaccinationRecord]

    /// Pairs a resident with their records.
    public init(resident: Resident, vaccinations: [VaccinationRecord]) {
        self.resident = resident
        self.vaccinations = vaccinations
    }
}
