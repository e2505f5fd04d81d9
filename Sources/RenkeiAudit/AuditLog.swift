#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import RenkeiCore
import Synchronization

/// What `AuditLog.open` had to repair after a crash. Never silent: the
/// registry logs it, and `AuditLog.recovery` keeps it.
public struct AuditRecovery: Sendable, Equatable, CustomStringConvertible {
    /// Bytes of an incomplete last line (a write cut short by a crash) that
    /// were cut off. That entry's `append` never returned, so nobody was told
    /// it was recorded.
    public let droppedBytes: Int
    /// The head file was one entry behind the log (a crash between the
    /// line's sync and the head's update) or missing after the first entry,
    /// and was rewritten.
    public let headRepaired: Bool

    public var description: String {
        var parts: [String] = []
        if droppedBytes > 0 { parts.append("cut off an incomplete last line of \(droppedBytes) bytes") }
        if headRepaired { parts.append("brought the head file up to the last entry") }
        return parts.joined(separator: "; ")
    }
}

/// One tenant's append-only, hash-chained audit log: `<code>.log`, one JSON
/// entry per line, with its head file `<code>.head`.
///
/// Kept outside RocksDB on purpose: the node holds the database lock, and the
/// log must be readable and verifiable (`renkei audit verify`) while the node
/// runs. The file is created 0600; its directory should be 0700.
///
/// Thread-safe. `append` is synchronous and durable: the line is written with
/// a single `write(2)` on an `O_APPEND` descriptor and `fdatasync`ed before
/// `append` returns, so an acknowledged entry survives a crash. One process
/// writes a log at a time (an exclusive `flock`); readers need no lock.
///
/// Opening fails closed: if the last entry does not verify, or the head file
/// says the log was longer, `open` throws `.corrupted` instead of chaining new
/// entries onto a log that was tampered with. The operator then runs
/// `renkei audit verify`, keeps the damaged files as evidence and moves them
/// aside, after which a new log starts.
public final class AuditLog: Sendable {
    public let path: String
    public let headPath: String
    public let code: MunicipalityCode
    /// Set when opening repaired a crash's leftovers.
    public let recovery: AuditRecovery?
    private let key: SymmetricKey
    private let state: Mutex<State>

    private struct State {
        var fd: Int32
        var size: Int
        var lastSeq: UInt64
        var lastMac: [UInt8]
    }

    private init(path: String, code: MunicipalityCode, key: SymmetricKey, recovery: AuditRecovery?, state: State) {
        self.path = path
        self.headPath = AuditHead.path(forLog: path)
        self.code = code
        self.key = key
        self.recovery = recovery
        self.state = Mutex(state)
    }

    deinit {
        state.withLock { _ = close($0.fd) }
    }

    /// The sequence number of the last entry, 0 for an empty log.
    public var lastSequence: UInt64 { state.withLock { $0.lastSeq } }

    // MARK: Opening

    /// Opens (creating if needed) the log at `path` for tenant `code`.
    ///
    /// Reads only the tail: an incomplete last line (no newline: a crash cut
    /// the write short) is truncated away and reported in `recovery`; the last
    /// complete entry's MAC is checked against the one before it, and the
    /// head file against both.
    ///
    /// - Throws: `.locked` if another `AuditLog` has the file open,
    ///   `.corrupted` if the tail or head fails its checks, `.io`.
    public static func open(path: String, code: MunicipalityCode, key: SymmetricKey) throws(AuditError) -> AuditLog {
        let codeText = code.rawValue
        let fd = try AuditFile.openFile(path, flags: O_RDWR | O_CREAT | O_APPEND, mode: 0o600)
        var handedOver = false
        defer { if !handedOver { _ = close(fd) } }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            if errno == EWOULDBLOCK {
                throw AuditError(.locked, "the audit log \(path) is open for writing elsewhere (is a node process running on this data directory?)")
            }
            throw AuditFile.fail("flock", "cannot lock", path)
        }
        var size = try AuditFile.size(fd, path: path)
        if size == 0 {
            // Possibly just created: pin the mode (the umask must not widen
            // it) and make the directory entry durable.
            guard fchmod(fd, 0o600) == 0 else { throw AuditFile.fail("fchmod", "cannot set mode 0600 on", path) }
            try AuditFile.syncDirectory(of: path)
        }

        // The tail: the last two complete lines, and any incomplete one.
        var lines: [ArraySlice<UInt8>] = []
        var dropped = 0
        if size > 0 {
            let newline = UInt8(ascii: "\n")
            let start = max(0, size - 3 * AuditLimits.maxLineBytes)
            let tail = try AuditFile.readAt(fd, at: start, count: size - start, path: path)
            var end = tail.count
            if tail.last != newline {
                if let lastNewline = tail.lastIndex(of: newline) {
                    end = lastNewline + 1
                } else if start == 0 {
                    end = 0
                } else {
                    throw AuditError(.corrupted, "the last line of the audit log \(path) is longer than any entry can be; run renkei audit verify")
                }
                dropped = tail.count - end
            }
            if end > 0 {
                var segments = tail[0..<(end - 1)].split(separator: newline, omittingEmptySubsequences: false)
                // A window that starts mid-file may start mid-line.
                if start > 0, !segments.isEmpty { segments.removeFirst() }
                lines = Array(segments.suffix(2))
            }
            if dropped > 0 {
                try AuditFile.truncate(fd, to: size - dropped, path: path)
                try AuditFile.sync(fd, path: path)
                size -= dropped
            }
        }

        // The last entry must verify against the one before it.
        let genesis = AuditChain.genesis(code: codeText, key: key)
        var lastSeq: UInt64 = 0
        var lastMac = genesis
        var previousMac: [UInt8]?
        if let lastLine = lines.last {
            let last: AuditEntry
            do throws(AuditError) {
                last = try AuditEntry.parse(lastLine)
            } catch {
                throw AuditError(.corrupted, "the last entry of the audit log \(path) cannot be read (\(error.message)); run renkei audit verify")
            }
            let chainFrom: [UInt8]
            if last.seq == 1 {
                guard lines.count == 1 else {
                    throw AuditError(.corrupted, "the audit log \(path) ends with entry 1 after other lines; run renkei audit verify")
                }
                chainFrom = genesis
            } else {
                guard lines.count == 2, let previous = try? AuditEntry.parse(lines[0]), previous.seq == last.seq - 1,
                      let mac = AuditHex.decode(previous.mac)
                else {
                    throw AuditError(.corrupted, "the last entry (\(last.seq)) of the audit log \(path) does not follow entry \(last.seq - 1); run renkei audit verify")
                }
                chainFrom = mac
            }
            let mac = AuditChain.mac(previous: chainFrom, entry: last, code: codeText, key: key)
            guard AuditChain.equal(mac, AuditHex.decode(last.mac) ?? []) else {
                throw AuditError(.corrupted, "the last entry (\(last.seq)) of the audit log \(path) fails its MAC check: it was edited, or the log was written under another master key; run renkei audit verify")
            }
            lastSeq = last.seq
            lastMac = mac
            previousMac = chainFrom
        }

        // The head must be at the last entry (or, after a crash, one before it).
        let headPath = AuditHead.path(forLog: path)
        var headRepaired = false
        switch try AuditHead.read(path: headPath, code: codeText, key: key) {
        case nil:
            guard lastSeq <= 1 else {
                throw AuditError(.corrupted, "the audit head file \(headPath) is missing but the log has \(lastSeq) entries; run renkei audit verify")
            }
            if lastSeq == 1 {
                try AuditHead(seq: 1, mac: lastMac).write(path: headPath, code: codeText, key: key)
                headRepaired = true
            }
        case let read?:
            guard read.authentic else {
                throw AuditError(.corrupted, "the audit head file \(headPath) fails its MAC check: it was edited, or written under another master key; run renkei audit verify")
            }
            let head = read.head
            if head.seq == lastSeq, lastSeq > 0, AuditChain.equal(head.mac, lastMac) {
                break
            } else if head.seq + 1 == lastSeq, let previousMac, AuditChain.equal(head.mac, head.seq == 0 ? genesis : previousMac) {
                try AuditHead(seq: lastSeq, mac: lastMac).write(path: headPath, code: codeText, key: key)
                headRepaired = true
            } else if head.seq > lastSeq {
                throw AuditError(.corrupted, "the audit log \(path) ends at entry \(lastSeq) but its head file records entry \(head.seq): entries were removed from the end; run renkei audit verify")
            } else {
                throw AuditError(.corrupted, "the audit head file \(headPath) (entry \(head.seq)) does not match the log, which ends at entry \(lastSeq); run renkei audit verify")
            }
        }

        let recovery = dropped > 0 || headRepaired ? AuditRecovery(droppedBytes: dropped, headRepaired: headRepaired) : nil
        handedOver = true
        return AuditLog(path: path, code: code, key: key, recovery: recovery,
                        state: State(fd: fd, size: size, lastSeq: lastSeq, lastMac: lastMac))
    }

    // MARK: Appending

    /// Appends one entry and returns it once it is on disk.
    ///
    /// - Throws: `.invalidArgument` naming the field if a field breaks its
    ///   bound (nothing is written); `.io` if the write or sync fails (the
    ///   file is cut back to where it was, so the chain stays intact). If
    ///   only the head update fails, the entry IS recorded and the error says
    ///   so; the next append or open brings the head up to date.
    @discardableResult
    public func append(_ record: AuditRecord) throws(AuditError) -> AuditEntry {
        var record = record
        if record.actor == nil, record.terminal == nil, let who = AuditOperator.current {
            record.actor = who.login
            record.terminal = who.terminal
        }
        return try state.withLock { s throws(AuditError) -> AuditEntry in
            let seq = s.lastSeq + 1
            let draft = AuditEntry(seq: seq, time: AuditTime.now(), record: record, mac: String(repeating: "0", count: 64))
            try AuditFields.check(draft)
            let mac = AuditChain.mac(previous: s.lastMac, entry: draft, code: code.rawValue, key: key)
            let entry = draft.with(mac: AuditHex.encode(mac))
            let line = entry.jsonLine()
            // One write(2) of the whole line: with O_APPEND it lands at the
            // end in one piece. A short write (disk full) is undone below.
            var written = 0
            while true {
                written = line.withUnsafeBytes { write(s.fd, $0.baseAddress!, $0.count) }
                if written < 0 && errno == EINTR { continue }
                break
            }
            if written != line.count {
                let failure = written < 0
                    ? AuditFile.fail("write", "cannot append to", path)
                    : AuditError(.io, "short write to \(path) (\(written) of \(line.count) bytes)")
                try? AuditFile.truncate(s.fd, to: s.size, path: path)
                throw failure
            }
            do throws(AuditError) {
                try AuditFile.dataSync(s.fd, path: path)
            } catch {
                // Not known to be durable: take it back rather than report an
                // entry that a crash could still lose.
                try? AuditFile.truncate(s.fd, to: s.size, path: path)
                throw error
            }
            s.size += line.count
            s.lastSeq = seq
            s.lastMac = mac
            do throws(AuditError) {
                try AuditHead(seq: seq, mac: mac).write(path: headPath, code: code.rawValue, key: key)
            } catch {
                throw AuditError(.io, "entry \(seq) was recorded, but the head file could not be updated", cause: error)
            }
            return entry
        }
    }
}
