/// Turns raw chunks in the input encoding into validated UTF-8, one chunk
/// at a time, carrying an incomplete multibyte character over to the next
/// chunk.
///
/// Validating here, once per chunk, lets the parser build strings from
/// byte slices without re-checking and lets it report the exact line of an
/// invalid byte: output stops right before it and the parser's line counter
/// is at that line when it runs out of data.
final class StreamDecoder {
    /// Why decoding cannot continue.
    enum Failure: Equatable {
        /// A byte sequence is invalid in the input encoding.
        case invalid
        /// The input ends inside a multibyte character.
        case truncated
    }

    let encoding: TextEncoding
    private let converter: Iconv?
    private var carry: [UInt8] = []
    private var atStreamStart = true

    init(encoding: TextEncoding) throws {
        self.encoding = encoding
        switch encoding {
        case .utf8: converter = nil
        case .cp932: converter = try Iconv(from: "CP932", to: "UTF-8")
        }
    }

    /// Appends the UTF-8 for `chunk` to `output`; on failure, everything
    /// before the offending bytes has been appended.
    func decode(_ chunk: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) -> Failure? {
        if carry.isEmpty {
            return decodeContiguous(chunk, into: &output)
        }
        var joined = carry
        joined.append(contentsOf: chunk)
        carry.removeAll(keepingCapacity: true)
        return joined.withUnsafeBufferPointer { decodeContiguous($0, into: &output) }
    }

    /// Call at end of input: fails when a character was cut off.
    func finish(into output: inout [UInt8]) -> Failure? {
        if encoding == .utf8, atStreamStart, !carry.isEmpty {
            // Fewer than three bytes in the whole stream: cannot be a BOM.
            let pending = carry
            carry.removeAll()
            atStreamStart = false
            if let failure = pending.withUnsafeBufferPointer({ decodeContiguous($0, into: &output) }) {
                return failure
            }
        }
        return carry.isEmpty ? nil : .truncated
    }

    private func decodeContiguous(_ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8]) -> Failure? {
        var input = input
        if encoding == .utf8, atStreamStart {
            // The BOM may itself be split across chunks.
            if input.count < 3 {
                carry.append(contentsOf: input)
                return nil
            }
            atStreamStart = false
            if input[0] == 0xEF, input[1] == 0xBB, input[2] == 0xBF {
                input = UnsafeBufferPointer(rebasing: input[3...])
            }
        }
        if let converter {
            let (consumed, stop) = converter.convert(input, appendingTo: &output)
            switch stop {
            case .complete: return nil
            case .invalid: return .invalid
            case .incomplete:
                carry.append(contentsOf: input[consumed...])
                return nil
            }
        }
        let (valid, invalid) = validateUTF8(input)
        output.append(contentsOf: input[..<valid])
        if invalid { return .invalid }
        carry.append(contentsOf: input[valid...])
        return nil
    }
}

/// Returns how many leading bytes of `bytes` form complete, valid UTF-8
/// sequences, and whether the rest starts with an invalid sequence (as
/// opposed to a valid but incomplete one at the very end).
///
/// Follows the well-formed byte table of Unicode §3.9 (Table 3-7), so
/// overlongs, surrogates and values above U+10FFFF are rejected.
func validateUTF8(_ bytes: UnsafeBufferPointer<UInt8>) -> (valid: Int, invalid: Bool) {
    let count = bytes.count
    guard let base = bytes.baseAddress else { return (0, false) }
    var index = 0
    while index < count {
        // Most CSV bytes are ASCII; test eight at a time.
        if index + 8 <= count {
            let word = UnsafeRawPointer(base + index).loadUnaligned(as: UInt64.self)
            if word & 0x8080_8080_8080_8080 == 0 {
                index += 8
                continue
            }
        }
        let lead = base[index]
        if lead < 0x80 {
            index += 1
            continue
        }
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: length = 3; low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED: length = 3; high = 0x9F
        case 0xF0: length = 4; low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4: length = 4; high = 0x8F
        default: return (index, true)
        }
        for offset in 1..<length {
            if index + offset == count { return (index, false) }
            let byte = base[index + offset]
            let ok = offset == 1 ? (byte >= low && byte <= high) : (byte & 0xC0 == 0x80)
            if !ok { return (index, true) }
        }
        index += length
    }
    return (count, false)
}
