/// Streaming reader. Handles quoted fields with embedded commas, CR/LF/CRLF
/// newlines inside quotes, doubled quotes, CRLF or LF record ends, a final
/// record without newline, and skips completely empty lines.
///
/// The input is read in 1 MiB chunks; each chunk is converted to UTF-8 (CP932
/// through iconv) and validated once, then split on bytes. A leading UTF-8
/// byte order mark is dropped.
///
/// The reader is strict: a quote inside an unquoted field (`ab"c`) or text
/// after a closing quote (`"ab"c`) is a `.syntax` error rather than being
/// passed through, because a municipal export that produces either is
/// broken and guessing would silently corrupt records. A lone CR is also
/// accepted as a record end, since it is counted as a line break anyway.
///
/// After the first error every further `next()` throws the same error.
/// Not thread-safe; use one reader per task.
public final class CSVReader {
    private let source: ByteSource
    private let decoder: StreamDecoder
    private var parser: RecordParser
    private let limits: CSVLimits

    /// Decoded, validated UTF-8 not yet returned as records.
    private var buffer: [UInt8] = []
    /// Offset in `buffer` of the next record.
    private var start = 0
    /// Physical line at `start`.
    private var line = 1
    /// The source is exhausted; no bytes will be appended to `buffer`.
    private var sourceDone = false
    /// Decoding stopped at an invalid byte; raised when the parser reaches it.
    private var decodeFailure: StreamDecoder.Failure?
    private var failure: CSVError?

    /// The default size of raw chunks read from the input.
    static let defaultChunkSize = 1 << 20

    /// Opens the file at `path` for reading.
    ///
    /// Throws `.io` when the file cannot be opened.
    public convenience init(path: String, encoding: TextEncoding, limits: CSVLimits = .init()) throws {
        try self.init(path: path, encoding: encoding, limits: limits, chunkSize: Self.defaultChunkSize)
    }

    /// Reads CSV from bytes already in memory.
    public convenience init(bytes: [UInt8], encoding: TextEncoding, limits: CSVLimits = .init()) throws {
        try self.init(bytes: bytes, encoding: encoding, limits: limits, chunkSize: Self.defaultChunkSize)
    }

    /// `chunkSize` is adjustable so tests can force chunk boundaries into
    /// multibyte characters, CRLF pairs and quoted fields.
    init(path: String, encoding: TextEncoding, limits: CSVLimits = .init(), chunkSize: Int) throws {
        source = try ByteSource(path: path, chunkSize: max(1, chunkSize))
        decoder = try StreamDecoder(encoding: encoding)
        parser = RecordParser(limits: limits)
        self.limits = limits
    }

    init(bytes: [UInt8], encoding: TextEncoding, limits: CSVLimits = .init(), chunkSize: Int) throws {
        source = ByteSource(bytes: bytes, chunkSize: max(1, chunkSize))
        decoder = try StreamDecoder(encoding: encoding)
        parser = RecordParser(limits: limits)
        self.limits = limits
    }

    /// Raw input bytes consumed so far, for progress displays. Runs ahead of
    /// the records returned by up to one chunk.
    public var bytesRead: Int { source.bytesRead }

    /// The input size in bytes when known (regular files and in-memory input).
    public var totalBytes: Int? { source.totalBytes }

    /// Returns the next record, or nil at the end of input.
    ///
    /// Throws `.syntax`, `.encoding`, `.limit` or `.io` errors naming the line.
    public func next() throws -> CSVRecord? {
        if let failure { throw failure }
        do {
            return try nextRecord()
        } catch let error as CSVError {
            failure = error
            throw error
        }
    }

    private func nextRecord() throws -> CSVRecord? {
        while true {
            let atEnd = sourceDone && decodeFailure == nil
            let outcome = try buffer.withUnsafeBufferPointer {
                try parser.parse($0, from: start, line: line, atEnd: atEnd)
            }
            switch outcome {
            case .record(let record, let next, let nextLine):
                start = next
                line = nextLine
                return record
            case .end:
                return nil
            case .needMore(let resumeAt, let resumeLine):
                start = resumeAt
                line = resumeLine
                // +1: the buffer may end in the CR of a complete record,
                // and terminators do not count towards the limit.
                if buffer.count - start > limits.maxRecordBytes + 1 {
                    throw parser.recordTooLarge(line: line)
                }
                if let decodeFailure {
                    // Decoded output stops right before the bad bytes, so
                    // they are on the line where the buffer ends.
                    let badLine = buffer.withUnsafeBufferPointer {
                        line + physicalLineBreaks(in: UnsafeBufferPointer(rebasing: $0[start...]))
                    }
                    throw encodingError(decodeFailure, line: badLine)
                }
                try refill()
            }
        }
    }

    private func refill() throws {
        if start > 0 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
        try source.withNextChunk { chunk in
            if chunk.isEmpty {
                sourceDone = true
                decodeFailure = decoder.finish(into: &buffer)
            } else {
                decodeFailure = decoder.decode(chunk, into: &buffer)
                // Nothing after an invalid byte can be trusted.
                if decodeFailure != nil { sourceDone = true }
            }
        }
    }

    private func encodingError(_ failure: StreamDecoder.Failure, line: Int) -> CSVError {
        let name = decoder.encoding == .utf8 ? "UTF-8" : "CP932"
        switch failure {
        case .invalid:
            return CSVError(.encoding, "invalid \(name) byte sequence", line: line)
        case .truncated:
            return CSVError(.encoding, "input ends inside a \(name) multibyte character", line: line)
        }
    }
}
