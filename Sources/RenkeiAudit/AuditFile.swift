#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The few system calls the log needs, errno-checked and retried on EINTR.
enum AuditFile {
    static func fail(_ call: String, _ what: String, _ path: String) -> AuditError {
        let err = errno
        return AuditError(.io, "\(what) \(path)", cause: AuditSystemError(call: call, errno: err))
    }

    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0) throws(AuditError) -> Int32 {
        while true {
            let fd = open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            if errno == ENOENT { throw AuditError(.notFound, "no audit log at \(path)") }
            throw fail("open", "cannot open", path)
        }
    }

    static func size(_ fd: Int32, path: String) throws(AuditError) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail("fstat", "cannot inspect", path) }
        return Int(st.st_size)
    }

    /// Reads `count` bytes at `offset` (fewer only at end of file).
    static func readAt(_ fd: Int32, at offset: Int, count: Int, path: String) throws(AuditError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset + done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw fail("pread", "cannot read", path)
            }
            if n == 0 { break }
            done += n
        }
        return Array(buffer[0..<done])
    }

    /// The whole file.
    static func readAll(_ path: String) throws(AuditError) -> [UInt8] {
        let fd = try openFile(path, flags: O_RDONLY)
        defer { _ = close(fd) }
        var out: [UInt8] = []
        var offset = 0
        while true {
            let chunk = try readAt(fd, at: offset, count: 1 << 20, path: path)
            out += chunk
            offset += chunk.count
            if chunk.count < 1 << 20 { return out }
        }
    }

    static func truncate(_ fd: Int32, to size: Int, path: String) throws(AuditError) {
        while ftruncate(fd, off_t(size)) != 0 {
            if errno != EINTR { throw fail("ftruncate", "cannot truncate", path) }
        }
    }

    static func dataSync(_ fd: Int32, path: String) throws(AuditError) {
        while fdatasync(fd) != 0 {
            if errno != EINTR { throw fail("fdatasync", "cannot sync", path) }
        }
    }

    static func sync(_ fd: Int32, path: String) throws(AuditError) {
        while fsync(fd) != 0 {
            if errno != EINTR { throw fail("fsync", "cannot sync", path) }
        }
    }

    /// Syncs the directory holding `path`, so a new file's entry survives a crash.
    static func syncDirectory(of path: String) throws(AuditError) {
        let dir = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = try openFile(dir.isEmpty ? "/" : dir, flags: O_RDONLY | O_DIRECTORY)
        defer { _ = close(fd) }
        try sync(fd, path: dir)
    }

    /// Creates `path` as a directory with mode 0700 if it does not exist.
    static func makeDirectory(_ path: String) throws(AuditError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw fail("mkdir", "cannot create directory", path)
        }
    }
}
