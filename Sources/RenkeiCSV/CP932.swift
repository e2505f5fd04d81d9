/// Converts between Swift strings and CP932 (Windows-31J) bytes.
///
/// Used by tests and by synthetic-data generation to produce CP932 input
/// files, and by `CSVWriter` for CP932 output.
public enum CP932 {
    /// Encodes `string` as CP932.
    ///
    /// Throws `.encoding` when a character has no CP932 mapping (e.g. emoji);
    /// the message gives the character offset, never the character.
    public static func encode(_ string: String) throws -> [UInt8] {
        let converter = try Iconv(from: "UTF-8", to: "CP932")
        var input = string
        var output: [UInt8] = []
        let (consumed, stop) = input.withUTF8 { converter.convert($0, appendingTo: &output) }
        switch stop {
        case .complete:
            return output
        case .incomplete, .invalid:
            let position = String(decoding: Array(input.utf8.prefix(consumed)), as: UTF8.self).count + 1
            throw CSVError(.encoding, "character \(position) has no CP932 mapping")
        }
    }

    /// Decodes CP932 bytes into a string.
    ///
    /// Throws `.encoding` naming the line of the first invalid or truncated
    /// byte sequence.
    public static func decode(_ bytes: [UInt8]) throws -> String {
        let converter = try Iconv(from: "CP932", to: "UTF-8")
        var output: [UInt8] = []
        let (_, stop) = bytes.withUnsafeBufferPointer { converter.convert($0, appendingTo: &output) }
        switch stop {
        case .complete:
            return String(decoding: output, as: UTF8.self)
        case .incomplete:
            throw CSVError(.encoding, "input ends inside a CP932 multibyte character", line: output.withUnsafeBufferPointer { 1 + physicalLineBreaks(in: $0) })
        case .invalid:
            throw CSVError(.encoding, "invalid CP932 byte sequence", line: output.withUnsafeBufferPointer { 1 + physicalLineBreaks(in: $0) })
        }
    }
}

/// Counts line breaks in `text`, where LF, CR and CRLF each count once —
/// the same rule the parser uses for physical line numbers.
func physicalLineBreaks(in text: UnsafeBufferPointer<UInt8>) -> Int {
    var breaks = 0
    var index = 0
    while index < text.count {
        if text[index] == 0x0A {
            breaks += 1
        } else if text[index] == 0x0D {
            breaks += 1
            if index + 1 < text.count, text[index + 1] == 0x0A { index += 1 }
        }
        index += 1
    }
    return breaks
}
