private let comma: UInt8 = 0x2C
private let quote: UInt8 = 0x22
private let lineFeed: UInt8 = 0x0A
private let carriageReturn: UInt8 = 0x0D

/// Splits one record out of a buffer of validated UTF-8.
///
/// The parser is restartable rather than resumable: when the buffer ends
/// before the record does, it reports `.needMore` and the reader calls it
/// again from the same record start once more data is appended. A record is
/// bounded by `maxRecordBytes` and chunks are large, so re-scanning a
/// partial record costs little and keeps the state machine simple.
///
/// Strictness: a quote inside an unquoted field, or anything but a
/// separator or line end after a closing quote, is a syntax error. Record
/// ends may be CRLF, LF or a lone CR; CR, LF and CRLF each count as one
/// physical line, inside quotes too.
struct RecordParser {
    enum Outcome {
        /// A complete record; parsing continues at `next` on line `nextLine`.
        case record(CSVRecord, next: Int, nextLine: Int)
        /// The buffer ends inside the record. Blank lines before it have been
        /// skipped: parsing should resume at `resumeAt` on `resumeLine`.
        case needMore(resumeAt: Int, resumeLine: Int)
        /// No more records.
        case end
    }

    let limits: CSVLimits
    /// Unescaping buffer for fields containing doubled quotes, kept to avoid
    /// an allocation per such field.
    private var scratch: [UInt8] = []
    private var typicalFieldCount = 8

    init(limits: CSVLimits) {
        self.limits = limits
    }

    /// Parses the record starting at `start`, which is on physical `line`.
    /// `atEnd` says no more bytes will ever follow `buffer`.
    mutating func parse(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, line startLine: Int, atEnd: Bool) throws -> Outcome {
        let count = buffer.count
        var index = start
        var line = startLine

        // Completely empty lines carry no record.
        while index < count, buffer[index] == lineFeed || buffer[index] == carriageReturn {
            if buffer[index] == carriageReturn {
                if index + 1 == count, !atEnd { return .needMore(resumeAt: index, resumeLine: line) }
                if index + 1 < count, buffer[index + 1] == lineFeed { index += 1 }
            }
            index += 1
            line += 1
        }
        if index == count {
            return atEnd ? .end : .needMore(resumeAt: index, resumeLine: line)
        }

        let recordStart = index
        let recordLine = line
        var fields: [String] = []
        fields.reserveCapacity(typicalFieldCount)

        while true {
            let column = fields.count + 1
            if fields.count == limits.maxFields {
                throw CSVError(.limit, "record has more than \(limits.maxFields) fields (maxFields)", line: line)
            }
            let field: String
            if index < count, buffer[index] == quote {
                let fieldLine = line
                index += 1
                let contentStart = index
                var doubledQuotes = 0
                var contentEnd = 0
                scan: while true {
                    if index == count {
                        if atEnd {
                            throw CSVError(.syntax, "quoted field in column \(column) is not terminated", line: fieldLine)
                        }
                        return .needMore(resumeAt: recordStart, resumeLine: recordLine)
                    }
                    switch buffer[index] {
                    case quote:
                        if index + 1 == count, !atEnd { return .needMore(resumeAt: recordStart, resumeLine: recordLine) }
                        if index + 1 < count, buffer[index + 1] == quote {
                            doubledQuotes += 1
                            index += 2
                        } else {
                            contentEnd = index
                            index += 1
                            break scan
                        }
                    case lineFeed:
                        line += 1
                        index += 1
                    case carriageReturn:
                        if index + 1 == count, !atEnd { return .needMore(resumeAt: recordStart, resumeLine: recordLine) }
                        if index + 1 < count, buffer[index + 1] == lineFeed { index += 1 }
                        line += 1
                        index += 1
                    default:
                        index += 1
                    }
                    if index - contentStart - doubledQuotes > limits.maxFieldBytes {
                        throw fieldTooLarge(column: column, line: fieldLine)
                    }
                }
                if contentEnd - contentStart - doubledQuotes > limits.maxFieldBytes {
                    throw fieldTooLarge(column: column, line: fieldLine)
                }
                let content = UnsafeBufferPointer(rebasing: buffer[contentStart..<contentEnd])
                field = doubledQuotes == 0 ? makeString(content) : unescape(content)
            } else {
                let contentStart = index
                // Bounding the scan makes an over-long field fail fast
                // without a per-byte length check.
                let scanEnd = min(count, contentStart + limits.maxFieldBytes + 1)
                while index < scanEnd {
                    let byte = buffer[index]
                    if byte == comma || byte == lineFeed || byte == carriageReturn || byte == quote { break }
                    index += 1
                }
                if index - contentStart > limits.maxFieldBytes {
                    throw fieldTooLarge(column: column, line: line)
                }
                if index < count, buffer[index] == quote {
                    throw CSVError(.syntax, "quote character inside unquoted field in column \(column) (byte \(index - contentStart + 1) of the field)", line: line)
                }
                if index == count, !atEnd { return .needMore(resumeAt: recordStart, resumeLine: recordLine) }
                field = makeString(UnsafeBufferPointer(rebasing: buffer[contentStart..<index]))
            }
            fields.append(field)
            if index - recordStart > limits.maxRecordBytes {
                throw recordTooLarge(line: recordLine)
            }

            if index == count {
                // atEnd is true here: a final record without a line end.
                return finish(fields, line: recordLine, next: index, nextLine: line)
            }
            switch buffer[index] {
            case comma:
                index += 1
            case lineFeed:
                return finish(fields, line: recordLine, next: index + 1, nextLine: line + 1)
            case carriageReturn:
                if index + 1 == count, !atEnd { return .needMore(resumeAt: recordStart, resumeLine: recordLine) }
                let next = index + 1 < count && buffer[index + 1] == lineFeed ? index + 2 : index + 1
                return finish(fields, line: recordLine, next: next, nextLine: line + 1)
            default:
                throw CSVError(.syntax, "unexpected character after closing quote in column \(column)", line: line)
            }
        }
    }

    func recordTooLarge(line: Int) -> CSVError {
        CSVError(.limit, "record is larger than \(limits.maxRecordBytes) bytes (maxRecordBytes)", line: line)
    }

    private func fieldTooLarge(column: Int, line: Int) -> CSVError {
        CSVError(.limit, "field in column \(column) is larger than \(limits.maxFieldBytes) bytes (maxFieldBytes)", line: line)
    }

    private mutating func finish(_ fields: [String], line: Int, next: Int, nextLine: Int) -> Outcome {
        typicalFieldCount = fields.count
        return .record(CSVRecord(line: line, fields: fields), next: next, nextLine: nextLine)
    }

    private func makeString(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        // The decoder has validated the buffer, so this never repairs.
        String(decoding: bytes, as: UTF8.self)
    }

    private mutating func unescape(_ content: UnsafeBufferPointer<UInt8>) -> String {
        scratch.removeAll(keepingCapacity: true)
        var index = 0
        while index < content.count {
            let byte = content[index]
            scratch.append(byte)
            // Inside a closed quoted field every quote is doubled.
            index += byte == quote ? 2 : 1
        }
        return scratch.withUnsafeBufferPointer { makeString($0) }
    }
}
