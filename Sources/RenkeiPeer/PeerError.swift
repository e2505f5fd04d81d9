/// A failure of the peer layer: configuration, TLS material, directory
/// lookups, connections and calls.
public struct PeerError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, broadly.
    public enum Code: String, Sendable {
        /// The node configuration file is missing, unreadable or invalid.
        case configuration
        /// Certificates, keys, the CA or the revocation list could not be loaded.
        case tlsMaterial
        /// The signed directory is missing, unsigned, tampered or expired, or lacks the code.
        case directory
        /// The server's certificate does not carry the target code or does not match the directory.
        case misrouted
        /// The connection or handshake failed.
        case connection
        /// The peer answered with an error status.
        case rpc
        /// Input given to the requester broke a rule (nothing was sent).
        case invalidInput
        /// The peer's answer broke the contract.
        case protocolViolation
        /// The local store or audit log could not be read or written.
        case storage
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
