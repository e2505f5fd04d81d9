#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call, kept as the `cause` of a `CryptoError`.
public struct SystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The system call that failed, e.g. `"open"`.
    public let call: String
    /// The `errno` it left behind.
    public let errno: Int32

    /// Records that `call` failed with `errno`.
    init(_ call: String, errno: Int32) {
        self.call = call
        self.errno = errno
    }

    /// Captures the current thread's `errno` for `call`; use right after the failing call.
    static func last(_ call: String) -> SystemError {
        SystemError(call, errno: currentErrno())
    }

    /// The system's text for the errno, e.g. `No such file or directory`.
    var reason: String { String(cString: strerror(errno)) }

    /// `open: No such file or directory (errno 2)`.
    public var description: String {
        "\(call): \(reason) (errno \(errno))"
    }
}

/// Read at file scope, where `errno` is the C global rather than a property.
@inline(__always)
func currentErrno() -> Int32 { errno }
