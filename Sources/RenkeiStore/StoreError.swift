import CRocksDB

/// An error raised by the store layer.
///
/// Every RocksDB `char** errptr` failure becomes one of these at the call site;
/// `message` carries RocksDB's own text so operators can see the real cause.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// The kind of operation that failed.
    public enum Code: String, Sendable {
        /// Opening or listing a database failed (missing, locked, not a directory, ...).
        case open
        /// A point read or multi-read failed.
        case read
        /// A put, delete, batch write, flush or WAL sync failed.
        case write
        /// Creating, dropping or finding a column family failed.
        case columnFamily
        /// An iterator reported an error while scanning.
        case iterator
        /// Creating a checkpoint failed.
        case checkpoint
        /// The caller passed something unusable (e.g. a column family of another database).
        case invalidArgument
        /// The object used has been dropped or closed.
        case closed
        /// Stored or shipped bytes failed validation (a change log entry that
        /// does not decode, a gap in the change log).
        case corrupt
        /// Change log entries asked for were already discarded (the vault
        /// acknowledged them); the reader needs a newer starting point.
        case discarded
    }

    /// The kind of operation that failed.
    public let code: Code
    /// A human-readable explanation, including RocksDB's error text when there is one.
    public let message: String
    /// An underlying error, when the failure wraps one; usually `nil`.
    public let cause: (any Error & Sendable)?

    /// Creates an error.
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: What went wrong, including any RocksDB error text.
    ///   - cause: An underlying error, if any.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// `StoreError(<code>): <message>`, plus the cause when present.
    public var description: String {
        if let cause {
            return "StoreError(\(code.rawValue)): \(message) (cause: \(cause))"
        }
        return "StoreError(\(code.rawValue)): \(message)"
    }
}

/// Runs a RocksDB call that reports failure through `char** errptr` and turns a
/// non-nil error string into a thrown `StoreError`, freeing the C string.
@inline(__always)
func withRocksError<T>(
    _ code: StoreError.Code,
    _ context: @autoclosure () -> String,
    _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> T
) throws(StoreError) -> T {
    var err: UnsafeMutablePointer<CChar>? = nil
    let result = body(&err)
    if let err {
        let text = String(cString: err)
        rocksdb_free(err)
        throw StoreError(code, "\(context()): \(text)")
    }
    return result
}

extension StoreError {
    /// `error` itself when it is a `StoreError` (as everything `Database`
    /// throws is), else wrapped as `code`: for typed-throws callers of the
    /// untyped public API.
    static func from(_ error: any Error, _ code: Code) -> StoreError {
        if let error = error as? StoreError { return error }
        return StoreError(code, "\(error)", cause: error)
    }
}
