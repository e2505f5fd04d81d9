import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import RenkeiCore
import Synchronization

/// Why a journal cannot be used.
public struct BulkJournalError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The journal belongs to another input file or other options.
        case mismatch
        /// The journal is not a bulk journal, or a line is damaged.
        case corrupted
        /// Reading, writing or syncing failed.
        case io
    }
    public let code: Code
    public let message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}

/// The progress record of a bulk run, next to its results file: which input
/// rows are settled and how (outcome, reason, dose count), so a run killed
/// halfway resumes without asking again what it already has, and the final
/// results come out the same as an uninterrupted run's.
///
/// Text, one line per row: `index TAB outcome TAB doses TAB reason`, after a
/// header line `renkei-bulk-journal 1 <binding>`. No number, no name: the
/// binding is a SHA-256 over the input file and the options that change
/// results, so the journal says nothing about the people in the input.
/// UNREACHABLE rows are not journaled: a rerun asks for them again.
public enum BulkJournal {
    public static let magic = "renkei-bulk-journal 1"

    /// Binds a journal to the input bytes and the options that change
    /// results (batch size and streams do not).
    public static func binding(input: [UInt8], requester: MunicipalityCode, purpose: String, consentReference: String) -> String {
        var hash = SHA256()
        hash.update(data: Array("renkei-bulk-binding 1\0\(requester.rawValue)\0\(purpose)\0\(consentReference)\0".utf8))
        hash.update(data: input)
        return hash.finalize().map { String(format: "%02x", $0) }.joined()
    }

    /// Whether a result is kept in the journal (final whatever happens next).
    public static func journaled(_ result: BulkRowResult) -> Bool { result.outcome != .unreachable }

    public static func header(binding: String) -> String { "\(magic) \(binding)\n" }

    /// The line for one result. Tabs and line breaks in a reason become spaces.
    public static func line(_ r: BulkRowResult) -> String {
        let reason = String(r.reason.map { $0 == "\t" || $0.isNewline ? " " : $0 })
        return "\(r.index)\t\(r.outcome.rawValue)\t\(r.doses)\t\(reason)\n"
    }

    /// The results in a journal's text. A last line without its newline was
    /// torn by a crash and is ignored (its batch is asked again).
    ///
    /// - Throws: `.mismatch` if the journal is bound to something else,
    ///   `.corrupted` if it is not a journal or a complete line is damaged.
    public static func parse(_ text: String, binding: String, path: String) throws(BulkJournalError) -> [Int: BulkRowResult] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        // After the last "\n" comes either nothing or a torn line.
        lines.removeLast()
        guard let first = lines.first, first.hasPrefix(magic + " ") else {
            throw BulkJournalError(.corrupted, "\(path) is not a renkei bulk journal; move it away or remove it")
        }
        guard first.dropFirst(magic.count + 1) == binding else {
            throw BulkJournalError(.mismatch,
                "\(path) records a run with another input file or other options (--as, --purpose, --consent); "
                + "run again with the same input and options to resume, or remove \(path) to start over")
        }
        var results: [Int: BulkRowResult] = [:]
        for (n, line) in lines.dropFirst().enumerated() {
            let parts = line.split(separator: "\t", maxSplits: 3, omittingEmptySubsequences: false)
            guard parts.count == 4, let index = Int(parts[0]), index >= 1,
                  let outcome = BulkRowOutcome(rawValue: String(parts[1])), let doses = Int(parts[2]), doses >= 0 else {
                throw BulkJournalError(.corrupted, "\(path) line \(n + 2) is damaged; remove \(path) to start over")
            }
            results[index] = BulkRowResult(index: index, outcome: outcome, reason: String(parts[3]), doses: doses)
        }
        return results
    }
}

/// An open journal file (0600). Appends are serialized and each is one
/// write followed by fsync, so a completed batch is either wholly recorded
/// or (torn by a crash) ignored on resume.
public final class BulkJournalFile: Sendable {
    public let path: String
    private let descriptor: Mutex<Int32>

    /// Opens the journal at `path` for `binding`: an existing one is read
    /// (and a torn last line cut off), a missing one is created with its header.
    ///
    /// - Returns: the file and the results it already holds.
    public static func open(path: String, binding: String) throws(BulkJournalError) -> (BulkJournalFile, [Int: BulkRowResult]) {
        if FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw BulkJournalError(.io, "cannot read \(path)")
            }
            let bytes = [UInt8](data)
            let text = String(decoding: bytes, as: UTF8.self)
            let results = try BulkJournal.parse(text, binding: binding, path: path)
            let complete = (bytes.lastIndex(of: 0x0A) ?? -1) + 1
            let fd = Glibc.open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
            guard fd >= 0 else { throw BulkJournalError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
            if complete < bytes.count, ftruncate(fd, off_t(complete)) != 0 || fsync(fd) != 0 {
                close(fd)
                throw BulkJournalError(.io, "cannot cut the torn last line of \(path)")
            }
            return (BulkJournalFile(path: path, descriptor: fd), results)
        }
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw BulkJournalError(.io, "cannot create \(path): \(String(cString: strerror(errno)))") }
        let file = BulkJournalFile(path: path, descriptor: fd)
        try file.write(Array(BulkJournal.header(binding: binding).utf8))
        Self.syncDirectory(of: path)
        return (file, [:])
    }

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = Mutex(descriptor)
    }

    deinit {
        descriptor.withLock { if $0 >= 0 { close($0) } }
    }

    /// Records the journaled ones of `results` durably (one write, one fsync).
    public func append(_ results: [BulkRowResult]) throws(BulkJournalError) {
        let text = results.filter(BulkJournal.journaled).map(BulkJournal.line).joined()
        if text.isEmpty { return }
        try write(Array(text.utf8))
    }

    /// Closes and deletes the journal (the run is complete).
    public func remove() {
        descriptor.withLock {
            if $0 >= 0 { close($0) }
            $0 = -1
        }
        unlink(path)
        Self.syncDirectory(of: path)
    }

    private func write(_ bytes: [UInt8]) throws(BulkJournalError) {
        let failure: String? = descriptor.withLock { fd in
            var offset = 0
            while offset < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, bytes.count - offset) }
                if n < 0 {
                    if errno == EINTR { continue }
                    return "cannot write \(path): \(String(cString: strerror(errno)))"
                }
                offset += n
            }
            return fsync(fd) == 0 ? nil : "cannot sync \(path): \(String(cString: strerror(errno)))"
        }
        if let failure { throw BulkJournalError(.io, failure) }
    }

    private static func syncDirectory(of path: String) {
        let dir = (path as NSString).deletingLastPathComponent
        let fd = Glibc.open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            _ = fsync(fd)
            close(fd)
        }
    }
}
