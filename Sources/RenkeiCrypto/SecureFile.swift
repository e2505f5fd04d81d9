#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Crypto

/// Durable, permission-tight file operations for key material.
public enum SecureFile {
    /// Replaces `path` with `bytes` so that a crash leaves either the old file
    /// or the complete new one, never a mix.
    ///
    /// Writes a temporary file in the same directory (so the rename cannot
    /// cross file systems), sets `mode` with `fchmod` (the umask must not widen
    /// or narrow it), fsyncs it, renames it over `path` and fsyncs the directory.
    public static func writeAtomically(_ bytes: [UInt8], toPath path: String, mode: mode_t = 0o600) throws {
        let tempPath = POSIXFile.directory(of: path) + "/." + POSIXFile.basename(of: path)
            + ".tmp-" + hexEncode(randomBytes(8))
        let fd: Int32
        switch POSIXFile.openFile(tempPath, O_WRONLY | O_CREAT | O_EXCL, mode) {
        case .success(let d): fd = d
        case .failure(let e): throw CryptoError.io(e, "create temporary file", path: tempPath)
        }
        var renamed = false
        defer { if !renamed { _ = unlink(tempPath) } }
        do {
            defer { _ = close(fd) }
            if fchmod(fd, mode) != 0 {
                throw CryptoError.io(.last("fchmod"), "set mode \(octalMode(mode)) on", path: tempPath)
            }
            do throws(SystemError) {
                try POSIXFile.writeAll(fd, bytes)
                try POSIXFile.sync(fd)
            } catch {
                throw CryptoError.io(error, "write", path: tempPath)
            }
        }
        if rename(tempPath, path) != 0 {
            throw CryptoError.io(.last("rename"), "rename \(tempPath) to", path: path)
        }
        renamed = true
        do {
            try POSIXFile.fsyncDirectory(containing: path)
        } catch {
            throw CryptoError.io(error, "sync the directory of", path: path)
        }
    }

    /// Overwrites the file at `path` with zeros, fsyncs, unlinks it and
    /// fsyncs its directory.
    ///
    /// This is best effort: SSD wear levelling, copy-on-write and journaling
    /// file systems, snapshots and backups may keep the old bytes. That is why
    /// the files this erases hold only keys wrapped under the master key —
    /// erasing the file plus never reusing the wrapping makes the data
    /// unreadable even if old blocks survive, as long as the master key is safe.
    ///
    /// Refuses symbolic links (it would otherwise overwrite the link's target)
    /// and throws `.keyFileMissing` if there is nothing to erase.
    public static func erase(atPath path: String) throws {
        let fd: Int32
        switch POSIXFile.openFile(path, O_WRONLY | O_NOFOLLOW) {
        case .success(let d): fd = d
        case .failure(let e): throw CryptoError.opening(e, "file", path: path)
        }
        do {
            defer { _ = close(fd) }
            do {
                let st = try POSIXFile.status(fd)
                guard (st.st_mode & S_IFMT) == S_IFREG else {
                    throw CryptoError(.io, "refusing to erase \(path): it is not a regular file")
                }
                let zeros = [UInt8](repeating: 0, count: 64 * 1024)
                var remaining = Int(st.st_size)
                while remaining > 0 {
                    let n = min(remaining, zeros.count)
                    try POSIXFile.writeAll(fd, n == zeros.count ? zeros : Array(zeros[0..<n]))
                    remaining -= n
                }
                try POSIXFile.sync(fd)
            } catch let error as SystemError {
                throw CryptoError.io(error, "overwrite", path: path)
            }
        }
        if unlink(path) != 0 {
            throw CryptoError.io(.last("unlink"), "remove", path: path)
        }
        do {
            try POSIXFile.fsyncDirectory(containing: path)
        } catch {
            throw CryptoError.io(error, "sync the directory of", path: path)
        }
    }

    /// Reads the whole file at `path`. Throws `.keyFileMissing` if it does not exist.
    public static func readAll(atPath path: String) throws -> [UInt8] {
        let fd: Int32
        switch POSIXFile.openFile(path, O_RDONLY) {
        case .success(let d): fd = d
        case .failure(let e): throw CryptoError.opening(e, "file", path: path)
        }
        defer { _ = close(fd) }
        do {
            return try POSIXFile.readAll(fd)
        } catch {
            throw CryptoError.io(error, "read", path: path)
        }
    }
}
