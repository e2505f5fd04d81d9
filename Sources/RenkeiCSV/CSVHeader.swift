/// Maps header names to column positions.
///
/// Header names are trimmed of surrounding whitespace (including the
/// full-width space U+3000), because exports often pad them.
public struct CSVHeader: Sendable {
    /// The trimmed header names, in column order.
    public let names: [String]
    private let positions: [String: Int]

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
        var positions: [String: Int] = [:]
        var duplicates: [String] = []
        let known = Set(required + optional)
        for (position, name) in names.enumerated() {
            if positions[name] == nil {
                positions[name] = position
            } else if known.contains(name), !duplicates.contains(name) {
                duplicates.append(name)
            }
        }
        var seenRequired = Set<String>()
        let missing = required.filter { positions[$0] == nil && seenRequired.insert($0).inserted }

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
        positions[name]
    }

    /// The trimmed value of column `name` in `record`, or nil when the column
    /// is absent or the value is empty.
    ///
    /// A record shorter than the header yields nil for the missing columns.
    public func value(_ name: String, in record: CSVRecord) -> String? {
        guard let position = positions[name], position < record.fields.count else { return nil }
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
    if !first.properties.isWhitespace, !last.properties.isWhitespace { return text }
    guard let lower = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
          let upper = scalars.lastIndex(where: { !$0.properties.isWhitespace })
    else { return "" }
    return String(scalars[lower...upper])
}
