/// A failure of the vault's network layer: configuration, TLS material,
/// handshakes, connections and calls, on either side.
public struct VaultNetworkError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, broadly.
    public enum Code: String, Sendable {
        /// The vault configuration file is missing, unreadable or invalid.
        case configuration
        /// Certificates, keys, the CA or the revocation list could not be loaded.
        case tlsMaterial
        /// The peer's certificate was refused in the handshake (wrong role,
        /// wrong name, untrusted, expired or revoked).
        case refusedPeer
        /// The connection failed.
        case connection
        /// The vault answered with an error status.
        case rpc
        /// The vault's local store failed.
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

/// An error's description, for causes whose type is not Sendable.
public struct VaultErrorDescription: Error, Sendable, CustomStringConvertible {
    public let description: String
    public init(_ error: any Error) { description = String(describing: error) }
}
