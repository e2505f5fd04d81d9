#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension CryptoError {
    /// An `.io` error for a failed system call on `path`, with the system's reason.
    static func io(_ error: SystemError, _ action: String, path: String) -> CryptoError {
        CryptoError(.io, "could not \(action) \(path): \(error.reason)", cause: error)
    }

    /// Like `io`, but a missing file becomes `.keyFileMissing` so callers can
    /// tell "not set up yet" from a real failure.
    static func opening(_ error: SystemError, _ what: String, path: String) -> CryptoError {
        if error.errno == ENOENT {
            return CryptoError(.keyFileMissing, "\(what) \(path) does not exist", cause: error)
        }
        return io(error, "open \(what)", path: path)
    }
}
