/// A local-government code (全国地方公共団体コード): six digits, the last a
/// check digit over the first five with weights 6, 5, 4, 3, 2.
///
/// A tenant of a node is named by its municipality code.
public struct MunicipalityCode: Sendable, Hashable, Comparable, CustomStringConvertible, Codable {
    /// The six digits, check digit included.
    public let rawValue: String

    public static let field = FieldName("municipalityCode", "自治体コード")

    /// Validates six ASCII digits and the check digit.
    public init(_ text: String, field: FieldName = MunicipalityCode.field) throws(ValidationError) {
        guard text.utf8.count == 6 else {
            throw ValidationError(field, .length, "must be exactly 6 digits")
        }
        guard let digits = Digits.values(text) else {
            throw ValidationError(field, .digitsOnly, "must contain only the digits 0-9")
        }
        guard digits[5] == Self.checkDigit(forFirstFive: digits) else {
            throw ValidationError(field, .checkDigit, "check digit does not match the first five digits")
        }
        self.rawValue = text
    }

    /// The check digit for the first five digits: r = Σ dᵢ·wᵢ mod 11 with
    /// weights 6,5,4,3,2; check = (11 − r) mod 10.
    public static func checkDigit(forFirstFive digits: [Int]) -> Int {
        precondition(digits.count >= 5)
        let weights = [6, 5, 4, 3, 2]
        var sum = 0
        for i in 0..<5 { sum += digits[i] * weights[i] }
        return (11 - sum % 11) % 10
    }

    /// The two-digit prefecture number (01 Hokkaido … 47 Okinawa).
    public var prefectureNumber: Int { Int(rawValue.prefix(2))! }

    public var description: String { rawValue }

    public static func < (lhs: MunicipalityCode, rhs: MunicipalityCode) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        self = try MunicipalityCode(text)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
