#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failure of the audit log: a record that breaks a bound, a log that
/// cannot be read or written, or one that fails its integrity checks.
///
/// Messages name fields, files, lines and entry numbers, never field values:
/// a rejected value could be anything a caller passed in, including data
/// that must not reach a log or a terminal.
public struct AuditError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, broadly.
    public enum Code: String, Sendable {
        /// A record field is too long, empty, or has characters it may not have.
        case invalidArgument
        /// The log file does not exist.
        case notFound
        /// A system call on the log or head file failed.
        case io
        /// The log or its head file fails its checks; nothing was appended.
        case corrupted
        /// Another process (or another `AuditLog` of this process) has the log open for writing.
        case locked
    }

    public let code: Code
    public let message: String
    /// The record field an `.invalidArgument` is about, e.g. `detail`.
    public let field: String?
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, field: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}

/// A failed system call, kept as the `cause` of an `AuditError`.
public struct AuditSystemError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The call that failed, e.g. `fdatasync`.
    public let call: String
    public let errno: Int32

    public var description: String { "\(call): \(String(cString: strerror(errno))) (errno \(errno))" }
}
