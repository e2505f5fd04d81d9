/// An error while reading or writing CSV.
///
/// Messages never contain field contents, because fields hold personal data
/// and error messages end up in logs. They name the line, column or position
/// and the rule that was broken instead.
public struct CSVError: Error, CustomStringConvertible, Sendable {
    /// The kind of problem.
    public enum Code: String, Sendable {
        /// Opening, reading, writing, syncing or renaming a file failed.
        case io
        /// The bytes are not valid in the declared encoding, or a character
        /// cannot be represented in the target encoding.
        case encoding
        /// The text violates RFC 4180 (unterminated quote, stray quote, …).
        case syntax
        /// A configured `CSVLimits` bound was exceeded.
        case limit
        /// The header row lacks required columns or repeats a column.
        case header
    }

    /// The kind of problem.
    public let code: Code
    /// A human-readable explanation that never includes field values.
    public let message: String
    /// The 1-based physical line where the problem is, when known.
    public let line: Int?
    /// The underlying error, e.g. a `SystemError` carrying `errno` for I/O.
    public let cause: (any Error & Sendable)?

    /// Creates an error; `message` must not contain field contents.
    public init(_ code: Code, _ message: String, line: Int? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.line = line
        self.cause = cause
    }

    /// "line 12: <message>" when the line is known, otherwise just the message.
    public var description: String {
        if let line {
            return "line \(line): \(message)"
        }
        return message
    }
}

/// An `errno` value captured at the point of failure, kept as the `cause`
/// of I/O errors so callers can inspect it without parsing messages.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    /// The `errno` value.
    public let errno: Int32

    /// Wraps an `errno` value.
    public init(errno: Int32) {
        self.errno = errno
    }

    /// The C library's text for the error (`strerror`).
    public var description: String {
        systemErrorText(errno)
    }
}
