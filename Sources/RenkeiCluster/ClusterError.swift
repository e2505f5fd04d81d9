/// A failure of `renkei cluster`: a bad spec, a directory in the way, a
/// node that would not start or stop.
///
/// Messages name files, fields, nodes and municipality codes; never a
/// resident's number, name or address.
public struct ClusterError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, broadly.
    public enum Code: String, Sendable {
        /// The cluster file is unreadable or breaks a rule; the message names the field.
        case invalidSpec
        /// The cluster directory already holds a cluster, or something else.
        case directoryInUse
        /// The directory holds no cluster (`cluster.json` missing or unreadable).
        case noCluster
        /// Creating the PKI, the directory, a node data directory or loading residents failed.
        case setup
        /// A node process could not be started or did not become healthy.
        case start
        /// A node process could not be signalled or did not stop.
        case stop
        /// A health check failed.
        case health
    }

    /// What went wrong, broadly.
    public let code: Code
    /// What went wrong, naming the file, field, node or code.
    public let message: String
    /// The underlying error, if any.
    public let cause: (any Error & Sendable)?

    /// An error with `code`, `message` and an optional `cause`.
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
