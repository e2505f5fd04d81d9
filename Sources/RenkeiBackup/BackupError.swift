/// A failure of the node's backup: what went wrong, and why, never with
/// record contents (change payloads are ciphertext, but they are not logged
/// or quoted either).
public struct BackupError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The configuration is invalid (the message names the field).
        case configuration
        /// The vault cannot be reached, or the connection broke.
        case vaultUnavailable
        /// The vault answered in a way the protocol does not allow (an
        /// acknowledgement going backwards, a sequence the node never had).
        case protocolViolation
        /// Waiting for the vault to acknowledge a change took too long.
        case timeout
        /// Too many writers waiting for the vault at once.
        case overloaded
        /// Reading the change log or the data directory failed.
        case storage
        /// Backup is not configured on this node.
        case notConfigured
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
        if let cause { return "\(message): \(cause)" }
        return message
    }
}
