/// An internal address number (宛名番号): the municipality's own identifier for
/// a person, 1 to 15 digits. It identifies a person, so it is personal data
/// and is stored only through a blind index.
public struct AddressNumber: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let digits: String

    public static let field = FieldName("addressNumber", "宛名番号")
    public static let maxDigits = 15

    public init(_ text: String, field: FieldName = AddressNumber.field) throws(ValidationError) {
        guard !text.isEmpty else {
            throw ValidationError(field, .required, "is required")
        }
        guard text.utf8.count <= Self.maxDigits else {
            throw ValidationError(field, .length, "must be at most \(Self.maxDigits) digits")
        }
        guard Digits.values(text) != nil else {
            throw ValidationError(field, .digitsOnly, "must contain only the digits 0-9")
        }
        self.digits = text
    }

    public var description: String { "宛名番号(redacted)" }

    public static func < (lhs: AddressNumber, rhs: AddressNumber) -> Bool {
        if lhs.digits.utf8.count != rhs.digits.utf8.count { return lhs.digits.utf8.count < rhs.digits.utf8.count }
        return lhs.digits < rhs.digits
    }
}
