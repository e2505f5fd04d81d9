#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RenkeiCrypto

/// File access for RenkeiPKI: errors name the path, key files stay 0600.
enum PKIFiles {
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    /// Reads a whole non-secret file.
    static func contents(_ path: String, what: String) throws(PKIError) -> [UInt8] {
        do {
            return try SecureFile.readAll(atPath: path)
        } catch let error as CryptoError where error.code == .keyFileMissing {
            throw PKIError(.fileMissing, "\(what) \(path) does not exist")
        } catch {
            throw PKIError(.io, "could not read \(what) \(path)", cause: error)
        }
    }

    /// Reads a private key file after checking that group and others have no access to it.
    static func readSecret(_ path: String, what: String) throws(PKIError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let e = errno
            if e == ENOENT { throw PKIError(.fileMissing, "\(what) \(path) does not exist") }
            throw PKIError(.io, "could not open \(what) \(path): \(String(cString: strerror(e)))")
        }
        defer { _ = close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw PKIError(.io, "could not stat \(what) \(path): \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            throw PKIError(.io, "\(what) \(path) is not a regular file")
        }
        let mode = st.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw PKIError(.keyFilePermissions,
                "\(what) \(path) has mode \(String(mode, radix: 8)); it must not be readable or writable by group or others (run: chmod 600 \(path))")
        }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw PKIError(.io, "could not read \(what) \(path): \(String(cString: strerror(errno)))")
            }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }

    /// Writes a file atomically with `mode` (0600 for keys, 0644 for public files).
    static func write(_ bytes: [UInt8], to path: String, mode: mode_t, what: String) throws(PKIError) {
        do {
            try SecureFile.writeAtomically(bytes, toPath: path, mode: mode)
        } catch {
            throw PKIError(.io, "could not write \(what) \(path)", cause: error)
        }
    }

    /// Creates `path` (and parents) as a directory if missing.
    static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws(PKIError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, mode) != 0 && errno != EEXIST {
                throw PKIError(.io, "could not create directory \(current): \(String(cString: strerror(errno)))")
            }
        }
    }
}
