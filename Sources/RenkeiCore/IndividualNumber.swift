/// An Individual Number (個人番号, "My Number"): twelve digits, the last a check digit.
///
/// Its `description` is redacted so that string interpolation into a log line
/// or an error cannot leak it; use `digits` where the number itself is needed
/// (a blind index, an outgoing inquiry, a screen the operator asked for).
public struct IndividualNumber: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The twelve digits, check digit included.
    public let digits: String

    public static let field = FieldName("individualNumber", "個人番号")

    public init(_ text: String, field: FieldName = IndividualNumber.field) throws(ValidationError) {
        guard text.utf8.count == 12 else {
            throw ValidationError(field, .length, "must be exactly 12 digits")
        }
        guard let values = Digits.values(text) else {
            throw ValidationError(field, .digitsOnly, "must contain only the digits 0-9")
        }
        guard values[11] == Self.checkDigit(forFirstEleven: values) else {
            throw ValidationError(field, .checkDigit, "check digit does not match the first eleven digits")
        }
        self.digits = text
    }

    /// The check digit for the first eleven digits.
    ///
    /// With P(n) the n-th of those digits counted from the right (P1 is the
    /// 11th digit) and Q(n) = n+1 for n ≤ 6, n−5 for n ≥ 7:
    /// r = Σ P(n)·Q(n) mod 11; check = 0 if r ≤ 1, else 11 − r.
    public static func checkDigit(forFirstEleven digits: [Int]) -> Int {
        precondition(digits.count >= 11)
        var sum = 0
        for n in 1...11 {
            let p = digits[11 - n]
            let q = n <= 6 ? n + 1 : n - 5
            sum += p * q
        }
        let r = sum % 11
        return r <= 1 ? 0 : 11 - r
    }

    /// Builds a valid number from eleven digits by appending the check digit.
    public static func completing(firstEleven: String) throws(ValidationError) -> IndividualNumber {
        guard firstEleven.utf8.count == 11, let values = Digits.values(firstEleven) else {
            throw ValidationError(field, .length, "needs exactly 11 digits before the check digit")
        }
        return try IndividualNumber(firstEleven + String(checkDigit(forFirstEleven: values)))
    }

    public var description: String { "個人番号(redacted)" }
    public var debugDescription: String { description }
}
