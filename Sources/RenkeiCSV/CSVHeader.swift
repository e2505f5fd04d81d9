/// Maps header names to column positions.
///
/// Header names are trimmed of surrounding whitespace (including the
/// full-width space U+3000), because exports often pad them.
public struct CSVHeader: Sendable {
    /// The trimmed header names, in column order.
    public let names: [String]
    private let positions: [ColumnName: Int]

    /// Throws .header naming every missing required column (e.g. "missing
    /// required column 個人番号") and duplicate columns. Header names are
    /// trimmed of surrounding whitespace.
    ///
    /// Only a repeated required or optional column is an error, since then
    /// it is ambiguous which one to read; other repeated names (such as
    /// blank headers from trailing commas) are tolerated and `index(of:)`
    /// returns the first. Header names are column labels, not personal
    /// data, so they may appear in the message.
    public init(_ record: CSVRecord, required: [String], optional: [String] = []) throws {
        let names = record.fields.map(trimmedWhitespace)
        var positions: [ColumnName: Int] = [:]
        var duplicates: [String] = []
        let known = Set(required + optional)
        for (position, name) in names.enumerated() {
            if positions[ColumnName(name)] == nil {
                positions[ColumnName(name)] = position
            } else if known.contains(name), !duplicates.contains(name) {
                duplicates.append(name)
            }
        }
        var seenRequired = Set<String>()
        let missing = required.filter { positions[ColumnName($0)] == nil && seenRequired.insert($0).inserted }

        var problems: [String] = []
        if !missing.isEmpty {
            problems.append("missing required column\(missing.count == 1 ? "" : "s") \(missing.joined(separator: ", "))")
        }
        if !duplicates.isEmpty {
            problems.append("duplicate column\(duplicates.count == 1 ? "" : "s") \(duplicates.joined(separator: ", "))")
        }
        if !problems.isEmpty {
            throw CSVError(.header, problems.joined(separator: "; "), line: record.line)
        }
        self.names = names
        self.positions = positions
    }

    /// The 0-based position of column `name`, or nil when absent.
    public func index(of name: String) -> Int? {
        positions[ColumnName(name)]
    }

    /// The trimmed value of column `name` in `record`, or nil when the column
    /// is absent or the value is empty.
    ///
    /// A record shorter than the header yields nil for the missing columns.
    public func value(_ name: String, in record: CSVRecord) -> String? {
        guard let position = positions[ColumnName(name)], position < record.fields.count else { return nil }
        let value = trimmedWhitespace(record.fields[position])
        return value.isEmpty ? nil : value
    }
}

/// Strips leading and trailing Unicode white space (White_Space property,
/// which covers U+3000 IDEOGRAPHIC SPACE common in Japanese data).
func trimmedWhitespace(_ text: String) -> String {
    let scalars = text.unicodeScalars
    // Most values need no trimming; avoid building a new string for them.
    guard let first = scalars.first, let last = scalars.last else { return text }
    if !isWhitespace(first), !isWhitespace(last) { return text }
    guard let lower = scalars.firstIndex(where: { !isWhitespace($0) }),
          let upper = scalars.lastIndex(where: { !isWhitespace($0) })
    else { return "" }
    return String(scalars[lower...upper])
}

/// A column name keyed by its UTF-8 bytes.
///
/// `String`'s own hashing normalizes non-ASCII text on every call, which made
/// looking up Japanese column names a measurable share of an import. Header
/// names arrive precomposed (NFC) from UTF-8 and CP932 files alike, so
/// comparing bytes finds the same columns.
struct ColumnName: Hashable, Sendable {
    let text: String
    init(_ text: String) { self.text = text }

    static func == (lhs: ColumnName, rhs: ColumnName) -> Bool {
        guard lhs.text.utf8.count == rhs.text.utf8.count else { return false }
        var a = lhs.text, b = rhs.text
        return a.withUTF8 { x in b.withUTF8 { y in x.elementsEqual(y) } }
    }

    func hash(into hasher: inout Hasher) {
        var copy = text
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}

/// Unicode White_Space, by value: a switch is far cheaper than a property
/// lookup on every field of every row.
@inline(__always)
func isWhitespace(_ scalar: Unicode.Scalar) -> Bool {
    switch scalar.value {
    case 0x09...0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
        return true
    default:
        return false
    }
}
