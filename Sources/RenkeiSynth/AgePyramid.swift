import RenkeiCore

/// Japan's population by age, roughly as the 2023 estimates have it, so that
/// a synthetic register has as many over-65s (about 29%) as a real one.
enum AgePyramid {
    /// Share of the population in each 5-year band (0–4, 5–9, …, 85–89, 90+),
    /// in tenths of a percent. They need not sum to exactly 1000.
    static let bandShares: [Int] = [
        36, 40, 43, 44, 48, 50, 51, 57, 63, 76, 76, 66, 60, 60, 77, 61, 49, 31, 23,
    ]

    static let maxAge = 105

    /// Cumulative shares, so a draw is a short scan of 19 integers.
    private static let cumulative: [Int] = {
        var total = 0
        return bandShares.map { total += $0; return total }
    }()

    /// A random age in 0…105 following the pyramid.
    static func age(_ rng: inout SeededGenerator) -> Int {
        let r = rng.below(cumulative.last!)
        var band = 0
        while cumulative[band] <= r { band += 1 }
        if band < bandShares.count - 1 { return band * 5 + rng.below(5) }
        // 90+: each further year of age is rarer, out to 105.
        return 90 + min(rng.below(16), rng.below(16), rng.below(16))
    }

    /// A date of birth on which someone is exactly `age` on `asOf`.
    static func dateOfBirth(age: Int, asOf: LocalDate, _ rng: inout SeededGenerator) -> LocalDate {
        // Born after the same day `age + 1` years earlier and on or before
        // the same day `age` years earlier (29 February falls back to the 28th).
        let latest = sameDay(as: asOf, year: asOf.year - age).daysSinceEpoch
        let earliest = sameDay(as: asOf, year: asOf.year - age - 1).daysSinceEpoch + 1
        return LocalDate(daysSinceEpoch: earliest + rng.below(latest - earliest + 1))
    }

    private static func sameDay(as date: LocalDate, year: Int) -> LocalDate {
        let day = min(date.day, LocalDate.daysIn(year: year, month: date.month))
        // year is within LocalDate's range for any asOf the generator accepts.
        return try! LocalDate(year: year, month: date.month, day: day)
    }
}
