#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes RFC 4180 CSV, quoting fields that contain comma, quote, CR or LF.
/// Writes to "<path>.tmp-<pid>" and on `finish()` fsyncs and renames to
/// `path` (atomic: a crash never leaves a half-written file under the final
/// name). Encoding utf8 (optionally with BOM for Excel users) or cp932 (via
/// iconv; a character with no CP932 mapping → CSVError .encoding naming the
/// row number and column index, not the value).
///
/// Records end with CRLF as RFC 4180 prescribes and Windows tools expect.
/// The file is created with mode 0600 because exports hold personal data.
/// Use one writer per path at a time: two writers for the same path in one
/// process share the temporary name. Not thread-safe.
public final class CSVWriter {
    private let path: String
    private let temporaryPath: String
    private let encoding: TextEncoding
    private let converter: Iconv?
    private var descriptor: Int32
    private var pending: [UInt8] = []
    private var row: [UInt8] = []
    private var field: [UInt8] = []
    private var finished = false
    private var failure: CSVError?

    /// Output is handed to the kernel in blocks of this size.
    private static let flushThreshold = 1 << 20

    /// Rows successfully passed to `write(_:)` (the header counts as a row).
    public private(set) var rowsWritten = 0

    /// Creates the temporary file next to `path`.
    ///
    /// `byteOrderMark` applies to UTF-8 only; CP932 has no byte order mark
    /// and the flag is ignored for it.
    public init(path: String, encoding: TextEncoding = .utf8, byteOrderMark: Bool = false) throws {
        self.path = path
        self.encoding = encoding
        temporaryPath = "\(path).tmp-\(getpid())"
        converter = encoding == .cp932 ? try Iconv(from: "UTF-8", to: "CP932") : nil
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if descriptor < 0 { throw ioError("cannot create \(temporaryPath)") }
        if encoding == .utf8, byteOrderMark {
            pending = [0xEF, 0xBB, 0xBF]
        }
    }

    deinit {
        if descriptor >= 0 {
            close(descriptor)
        }
        if !finished {
            unlink(temporaryPath)
        }
    }

    /// Appends one record.
    ///
    /// Throws `.encoding` (row and column, 1-based, without the value) when
    /// a CP932 writer meets an unmappable character; nothing of that row is
    /// written and the writer stays usable. Throws `.io` on write failure,
    /// after which the writer is unusable.
    public func write(_ fields: [String]) throws {
        if let failure { throw failure }
        if finished { throw CSVError(.io, "write after finish() for \(path)") }
        row.removeAll(keepingCapacity: true)
        for (column, value) in fields.enumerated() {
            if column > 0 { row.append(0x2C) }
            try appendField(value, column: column + 1)
        }
        row.append(0x0D)
        row.append(0x0A)
        pending.append(contentsOf: row)
        rowsWritten += 1
        if pending.count >= Self.flushThreshold {
            try guarded { try flush() }
        }
    }

    /// Flushes, fsyncs, closes and renames the temporary file to `path`, then
    /// fsyncs the directory so the rename itself survives a crash.
    public func finish() throws {
        if let failure { throw failure }
        if finished { return }
        try guarded {
            try flush()
            if fsync(descriptor) != 0 { throw ioError("cannot sync \(temporaryPath)") }
            let result = close(descriptor)
            descriptor = -1
            if result != 0 { throw ioError("cannot close \(temporaryPath)") }
            if rename(temporaryPath, path) != 0 { throw ioError("cannot rename \(temporaryPath) to \(path)") }
            finished = true
            syncDirectory(containing: path)
        }
    }

    private func appendField(_ value: String, column: Int) throws {
        var value = value
        value.withUTF8 { bytes in
            field.removeAll(keepingCapacity: true)
            let needsQuotes = bytes.contains { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }
            if !needsQuotes {
                field.append(contentsOf: bytes)
                return
            }
            field.append(0x22)
            for byte in bytes {
                if byte == 0x22 { field.append(0x22) }
                field.append(byte)
            }
            field.append(0x22)
        }
        guard let converter else {
            row.append(contentsOf: field)
            return
        }
        let (_, stop) = field.withUnsafeBufferPointer { converter.convert($0, appendingTo: &row) }
        if stop != .complete {
            throw CSVError(.encoding, "row \(rowsWritten + 1) column \(column): character has no CP932 mapping")
        }
    }

    private func flush() throws {
        var offset = 0
        try pending.withUnsafeBytes { bytes in
            while offset < bytes.count {
                let n = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw ioError("cannot write \(temporaryPath)")
                }
                offset += n
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// Makes I/O failures sticky: after a failed write the file content is
    /// unknown, so it must never be renamed into place.
    private func guarded(_ body: () throws -> Void) throws {
        do {
            try body()
        } catch let error as CSVError {
            failure = error
            throw error
        }
    }

    private func syncDirectory(containing path: String) {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        // Best effort: the data itself is already synced, and some file
        // systems refuse fsync on directories.
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}
