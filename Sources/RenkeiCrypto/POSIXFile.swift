#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Small, errno-checked wrappers around the system calls the key files need.
///
/// Foundation's file APIs cannot create with O_EXCL and an exact mode, or
/// fsync a directory, which is why the key files are handled at this level.
enum POSIXFile {
    /// Opens `path`, retrying on EINTR.
    static func openFile(_ path: String, _ flags: Int32, _ mode: mode_t = 0) -> Result<Int32, SystemError> {
        while true {
            let fd = open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return .success(fd) }
            let err = currentErrno()
            if err != EINTR { return .failure(SystemError("open", errno: err)) }
        }
    }

    /// Writes every byte, looping over short writes and EINTR.
    static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                let err = currentErrno()
                if err == EINTR { continue }
                throw SystemError("write", errno: err)
            }
            offset += n
        }
    }

    /// Writes every byte of an array.
    static func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(SystemError) {
        let result = bytes.withUnsafeBytes { buffer in
            Result { () throws(SystemError) in try writeAll(fd, buffer) }
        }
        try result.get()
    }

    /// Reads until end of file.
    static func readAll(_ fd: Int32) throws(SystemError) -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                let err = currentErrno()
                if err == EINTR { continue }
                wipe(&chunk)
                wipe(&result)
                throw SystemError("read", errno: err)
            }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        // The chunk may have held key bytes; do not leave them in freed memory.
        wipe(&chunk)
        return result
    }

    static func sync(_ fd: Int32) throws(SystemError) {
        while fsync(fd) != 0 {
            let err = currentErrno()
            if err != EINTR { throw SystemError("fsync", errno: err) }
        }
    }

    static func status(_ fd: Int32) throws(SystemError) -> stat {
        var st = stat()
        if fstat(fd, &st) != 0 { throw SystemError.last("fstat") }
        return st
    }

    /// Makes a create, rename or unlink in the directory durable; without it
    /// a crash can lose the directory entry even though the file data was synced.
    static func fsyncDirectory(containing path: String) throws(SystemError) {
        let dir = directory(of: path)
        let fd: Int32
        switch openFile(dir, O_RDONLY | O_DIRECTORY) {
        case .success(let d): fd = d
        case .failure(let e): throw e
        }
        defer { _ = close(fd) }
        try sync(fd)
    }

    /// The directory part of `path`, `"."` when there is none.
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[path.startIndex..<slash])
    }

    /// The last path component of `path`.
    static func basename(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }
}

/// Overwrites a buffer that held secrets before it is freed. Best effort:
/// Swift may already have copied the array elsewhere.
func wipe(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { buffer in
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        #if canImport(Glibc)
        explicit_bzero(base, buffer.count)
        #else
        memset_s(base, buffer.count, 0, buffer.count)
        #endif
    }
}

/// A permission mode as the four octal digits an operator types, e.g. `0644`.
func octalMode(_ mode: mode_t) -> String {
    let digits = String(mode & 0o7777, radix: 8)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}
