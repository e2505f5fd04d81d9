/// A calendar date without time zone, as municipal records keep them.
public struct LocalDate: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    public let year: Int
    public let month: Int
    public let day: Int

    public static let minYear = 1868   // Meiji 1: no resident record predates it
    public static let maxYear = 2199

    public init(year: Int, month: Int, day: Int, field: FieldName = FieldName("date")) throws(ValidationError) {
        guard (Self.minYear...Self.maxYear).contains(year) else {
            throw ValidationError(field, .date, "year must be between \(Self.minYear) and \(Self.maxYear)")
        }
        guard (1...12).contains(month) else {
            throw ValidationError(field, .date, "month must be 1-12")
        }
        guard (1...Self.daysIn(year: year, month: month)).contains(day) else {
            throw ValidationError(field, .date, "day does not exist in that month")
        }
        self.year = year
        self.month = month
        self.day = day
    }

    /// Parses `YYYY-MM-DD`, `YYYY/MM/DD` (months and days may have one digit)
    /// or `YYYYMMDD`.
    public init(parsing text: String, field: FieldName = FieldName("date")) throws(ValidationError) {
        let parts: [Substring]
        if text.contains("-") {
            parts = text.split(separator: "-", omittingEmptySubsequences: false)
        } else if text.contains("/") {
            parts = text.split(separator: "/", omittingEmptySubsequences: false)
        } else if text.utf8.count == 8 {
            let s = Substring(text)
            parts = [s.prefix(4), s.dropFirst(4).prefix(2), s.suffix(2)]
        } else {
            throw ValidationError(field, .date, "must be a date as YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD")
        }
        guard parts.count == 3, parts[0].utf8.count == 4,
              (1...2).contains(parts[1].utf8.count), (1...2).contains(parts[2].utf8.count),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              parts.allSatisfy({ $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } })
        else {
            throw ValidationError(field, .date, "must be a date as YYYY-MM-DD, YYYY/MM/DD or YYYYMMDD")
        }
        try self.init(year: y, month: m, day: d, field: field)
    }

    public static func isLeap(_ year: Int) -> Bool {
        (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
    }

    public static func daysIn(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 (negative before), by the civil-from-days algorithm.
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146097 + doe - 719468
    }

    /// The date `daysSinceEpoch` days after 1970-01-01.
    public init(daysSinceEpoch z0: Int) {
        let z = z0 + 719468
        let era = (z >= 0 ? z : z - 146096) / 146097
        let doe = z - era * 146097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.year = yoe + era * 400 + (m <= 2 ? 1 : 0)
        self.month = m
        self.day = d
    }

    public func adding(days: Int) -> LocalDate { LocalDate(daysSinceEpoch: daysSinceEpoch + days) }

    /// The Japanese fiscal year (年度), which starts on 1 April.
    public var fiscalYear: Int { month >= 4 ? year : year - 1 }

    /// Completed years of age on `date` for someone born on `self`.
    public func age(on date: LocalDate) -> Int {
        var age = date.year - year
        if (date.month, date.day) < (month, day) { age -= 1 }
        return age
    }

    /// `YYYY-MM-DD`.
    public var iso: String {
        func pad(_ v: Int, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public var description: String { iso }

    public static func < (lhs: LocalDate, rhs: LocalDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }

    public init(from decoder: any Decoder) throws {
        self = try LocalDate(parsing: try decoder.singleValueContainer().decode(String.self))
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(iso)
    }
}

/// A month, as the billing month (請求月) of a vaccination.
public struct YearMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int

    public init(year: Int, month: Int, field: FieldName = FieldName("month")) throws(ValidationError) {
        guard (LocalDate.minYear...LocalDate.maxYear).contains(year), (1...12).contains(month) else {
            throw ValidationError(field, .date, "must be a month as YYYY-MM within \(LocalDate.minYear)-\(LocalDate.maxYear)")
        }
        self.year = year
        self.month = month
    }

    /// Parses `YYYY-MM`, `YYYY/MM` or `YYYYMM`.
    public init(parsing text: String, field: FieldName = FieldName("month")) throws(ValidationError) {
        let parts: [Substring]
        if text.contains("-") {
            parts = text.split(separator: "-", omittingEmptySubsequences: false)
        } else if text.contains("/") {
            parts = text.split(separator: "/", omittingEmptySubsequences: false)
        } else if text.utf8.count == 6 {
            parts = [Substring(text).prefix(4), Substring(text).suffix(2)]
        } else {
            throw ValidationError(field, .date, "must be a month as YYYY-MM, YYYY/MM or YYYYMM")
        }
        guard parts.count == 2, parts[0].utf8.count == 4, (1...2).contains(parts[1].utf8.count),
              let y = Int(parts[0]), let m = Int(parts[1]) else {
            throw ValidationError(field, .date, "must be a month as YYYY-MM, YYYY/MM or YYYYMM")
        }
        try self.init(year: y, month: m, field: field)
    }

    public var description: String { "\(year)-\(month < 10 ? "0" : "")\(month)" }

    public static func < (lhs: YearMonth, rhs: YearMonth) -> Bool { (lhs.year, lhs.month) < (rhs.year, rhs.month) }
}
