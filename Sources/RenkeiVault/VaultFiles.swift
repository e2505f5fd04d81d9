#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto
import Foundation

/// The system calls the vault needs, errno-checked and retried on EINTR.
/// Every failure becomes a `VaultError` naming the path; ENOSPC becomes
/// `.diskFull`.
enum VaultFiles {
    /// Prefix of every temporary file; never a valid stored name.
    static let temporaryPrefix = ".tmp-"

    static func openFile(_ path: String, flags: Int32, mode: mode_t = 0o600) throws(VaultError) -> Int32 {
        while true {
            let fd = open(path, flags | O_CLOEXEC, mode)
            if fd >= 0 { return fd }
            if errno == EINTR { continue }
            throw VaultError.system("open", "cannot open", path)
        }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Size and inode of a regular file, `nil` if there is none.
    static func fileStat(_ path: String) throws(VaultError) -> (size: UInt64, inode: UInt64, device: UInt64)? {
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return nil }
            throw VaultError.system("lstat", "cannot inspect", path)
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw VaultError(.corrupt, "\(path) is not a regular file")
        }
        return (UInt64(st.st_size), UInt64(st.st_ino), UInt64(st.st_dev))
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: UInt64, path: String) throws(VaultError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw VaultError.system("pwrite", "cannot write", path)
            }
            done += n
        }
    }

    /// Reads up to `count` bytes at `offset` (fewer only at end of file).
    static func readAt(_ fd: Int32, at offset: UInt64, count: Int, path: String) throws(VaultError) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw VaultError.system("pread", "cannot read", path)
            }
            if n == 0 { break }
            done += n
        }
        buffer.removeSubrange(done...)
        return buffer
    }

    /// The whole file, refused with `.limit` above `maxBytes`.
    static func readFile(_ path: String, maxBytes: Int) throws(VaultError) -> [UInt8] {
        let fd = try openFile(path, flags: O_RDONLY)
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw VaultError.system("fstat", "cannot inspect", path) }
        guard Int(st.st_size) <= maxBytes else {
            throw VaultError(.limit, "\(path) has \(st.st_size) bytes, more than the limit of \(maxBytes)")
        }
        let bytes = try readAt(fd, at: 0, count: Int(st.st_size), path: path)
        guard bytes.count == Int(st.st_size) else {
            throw VaultError(.io, "\(path) changed size while it was read")
        }
        return bytes
    }

    /// SHA-256 (lowercase hex) and size of a file, read in 1 MiB chunks.
    static func hashFile(_ path: String) throws(VaultError) -> (sha256: String, size: UInt64) {
        let fd = try openFile(path, flags: O_RDONLY)
        defer { _ = close(fd) }
        var hasher = SHA256()
        var offset: UInt64 = 0
        while true {
            let chunk = try readAt(fd, at: offset, count: 1 << 20, path: path)
            hasher.update(data: chunk)
            offset += UInt64(chunk.count)
            if chunk.count < 1 << 20 { break }
        }
        return (hex(hasher.finalize()), offset)
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func sync(_ fd: Int32, path: String) throws(VaultError) {
        while fsync(fd) != 0 {
            if errno != EINTR { throw VaultError.system("fsync", "cannot sync", path) }
        }
    }

    static func syncPath(_ path: String) throws(VaultError) {
        let fd = try openFile(path, flags: O_RDONLY)
        defer { _ = close(fd) }
        try sync(fd, path: path)
    }

    /// Syncs a directory, so entries created, renamed or removed in it
    /// survive a crash.
    static func syncDirectory(_ dir: String) throws(VaultError) {
        let fd = try openFile(dir, flags: O_RDONLY | O_DIRECTORY)
        defer { _ = close(fd) }
        try sync(fd, path: dir)
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let p = String(path[..<slash])
        return p.isEmpty ? "/" : p
    }

    static func baseName(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return path }
        return String(path[path.index(after: slash)...])
    }

    /// A fresh temporary name in the directory of `path`.
    static func temporaryPath(for path: String) -> String {
        let n = UInt64.random(in: 0...UInt64.max)
        return parent(of: path) + "/" + temporaryPrefix + baseName(of: path) + "-\(getpid())-\(String(n, radix: 16))"
    }

    /// Writes `bytes` to a temporary file next to `path` and fsyncs it;
    /// returns the temporary path. On failure nothing is left behind.
    static func writeTemporary(for path: String, _ bytes: [UInt8]) throws(VaultError) -> String {
        let temp = temporaryPath(for: path)
        let fd = try openFile(temp, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        do throws(VaultError) {
            try writeAll(fd, bytes, at: 0, path: temp)
            try sync(fd, path: temp)
        } catch {
            _ = close(fd)
            _ = unlink(temp)
            throw error
        }
        _ = close(fd)
        return temp
    }

    static func renameFile(_ from: String, _ to: String) throws(VaultError) {
        if rename(from, to) != 0 {
            throw VaultError.system("rename", "cannot rename \(from) to", to)
        }
    }

    /// Replaces `path` atomically: temporary file, fsync, rename, fsync of
    /// the directory. A crash leaves the old file or the new one, and at
    /// worst a temporary file that the next start removes.
    static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(VaultError) {
        let temp = try writeTemporary(for: path, bytes)
        do throws(VaultError) {
            try renameFile(temp, path)
        } catch {
            _ = unlink(temp)
            throw error
        }
        try syncDirectory(parent(of: path))
    }

    static func makeDirectory(_ path: String) throws(VaultError) {
        if mkdir(path, 0o700) != 0 && errno != EEXIST {
            throw VaultError.system("mkdir", "cannot create directory", path)
        }
    }

    /// Creates `path` and any missing parents below `base` (which must exist).
    static func makeDirectories(_ path: String, below base: String) throws(VaultError) {
        guard path.hasPrefix(base + "/") else { return }
        let rest = path.dropFirst(base.count + 1).split(separator: "/")
        var current = base
        for part in rest {
            current += "/" + part
            try makeDirectory(current)
        }
    }

    /// Names in a directory, without `.` and `..`; empty if it does not exist.
    static func list(_ dir: String) throws(VaultError) -> [String] {
        guard let d = opendir(dir) else {
            if errno == ENOENT { return [] }
            throw VaultError.system("opendir", "cannot list", dir)
        }
        defer { closedir(d) }
        var names: [String] = []
        while let entry = readdir(d) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func remove(_ path: String) throws(VaultError) {
        if unlink(path) != 0 && errno != ENOENT {
            throw VaultError.system("unlink", "cannot remove", path)
        }
    }

    /// Removes a directory tree (no symbolic links are followed).
    static func removeTree(_ path: String) throws(VaultError) {
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return }
            throw VaultError.system("lstat", "cannot inspect", path)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try list(path) { try removeTree(path + "/" + name) }
            if rmdir(path) != 0 && errno != ENOENT {
                throw VaultError.system("rmdir", "cannot remove", path)
            }
        } else {
            try remove(path)
        }
    }

    /// Regular files below `dir`, as paths relative to it, sorted.
    static func walkFiles(_ dir: String, prefix: String = "") throws(VaultError) -> [String] {
        var out: [String] = []
        for name in try list(dir) {
            let full = dir + "/" + name
            let rel = prefix.isEmpty ? name : prefix + "/" + name
            if isDirectory(full) {
                out += try walkFiles(full, prefix: rel)
            } else {
                out.append(rel)
            }
        }
        return out
    }
}
