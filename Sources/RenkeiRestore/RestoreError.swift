/// A restore failure: what went wrong and where (a file, a sequence range,
/// a tenant code), never personal data.
public struct RestoreError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        /// The request cannot be carried out as given (flags, a non-empty target).
        case invalidArgument
        /// The vault lacks something the restore needs (a node, a snapshot, a file).
        case notFound
        /// Changes are missing between the base snapshot and the target point.
        case gap
        /// A file fails its checksum, or content does not match the catalog.
        case corrupt
        /// A recovery kit is missing, does not open, or does not fit the data.
        case keys
        /// The vault cannot be reached or refused the request.
        case vault
        /// Local file or database I/O.
        case io
        /// A size or count limit was exceeded.
        case limit
    }

    public let code: Code
    public let message: String
    public let cause: (any Error & Sendable)?

    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    public var description: String {
        if let cause { return "\(message) (\(cause))" }
        return message
    }
}

/// Any error's description as a `Sendable` cause.
struct RestoreCause: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ error: any Error) { description = String(describing: error) }
}
