/// A value failed a domain rule.
///
/// The message names the field and the rule, never the offending value: a
/// rejected value may be an Individual Number or a name, and errors end up in
/// logs and terminals.
public struct ValidationError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The rule that was broken, stable for programs to match on.
    public enum Rule: String, Sendable {
        case required
        case length
        case digitsOnly
        case checkDigit
        case date
        case range
        case unknownValue
        case format
        case inconsistent
    }

    /// The field, as `englishName (日本語名)` where a Japanese column name exists.
    public let field: String
    public let rule: Rule
    public let message: String

    public init(field: String, rule: Rule, message: String) {
        self.field = field
        self.rule = rule
        self.message = message
    }

    public var description: String { "\(field): \(message) [\(rule.rawValue)]" }
}

/// Names a field for error messages: the English name with its CSV column.
public struct FieldName: Sendable, Hashable, CustomStringConvertible {
    public let english: String
    public let japanese: String?
    public init(_ english: String, _ japanese: String? = nil) {
        self.english = english
        self.japanese = japanese
    }
    public var description: String {
        if let japanese { return "\(english) (\(japanese))" }
        return english
    }
}

extension ValidationError {
    init(_ field: FieldName, _ rule: Rule, _ message: String) {
        self.init(field: field.description, rule: rule, message: message)
    }
}

enum Digits {
    /// The ASCII digit values of `text`, or nil if any character is not 0-9.
    static func values(_ text: String) -> [Int]? {
        var result: [Int] = []
        result.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            result.append(Int(byte - 0x30))
        }
        return result
    }
}
