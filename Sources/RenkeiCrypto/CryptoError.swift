/// The one error type thrown by RenkeiCrypto.
///
/// Messages are written for an operator: they say what went wrong, where
/// (usually a file path or tenant code) and what to do about it. They never
/// contain key material or plaintext values, so they are safe to log.
public struct CryptoError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is, for callers that branch on it.
    public enum Code: String, Sendable {
        /// A key or keyring file does not exist.
        case keyFileMissing
        /// A key file is readable or writable by group or others.
        case keyFilePermissions
        /// A key or keyring file (or a hex key) is not in the expected format.
        case keyFileMalformed
        /// Refused to create a key file because one is already there.
        case keyFileExists
        /// A keyring file belongs to a different tenant than the one asked for.
        case wrongTenant
        /// A wrapped key did not open: another master key, another context, or altered bytes.
        case unwrapFailed
        /// A record envelope did not authenticate: another key, context, or altered bytes.
        case authenticationFailed
        /// A record envelope is too short or has an unknown format byte.
        case malformedEnvelope
        /// A record envelope names a key version the keyring does not have.
        case unknownKeyVersion
        /// A recovery kit passphrase breaks the length rule.
        case weakPassphrase
        /// A recovery kit did not open: wrong passphrase, or the kit was altered.
        case recoveryKitRejected
        /// A recovery kit file is not a recovery kit this code can read.
        case recoveryKitMalformed
        /// Refused to create a file (e.g. a media export) because something is already at its path.
        case fileExists
        /// A media export did not open: wrong passphrase, not a media file, or altered, reordered, cut short or extended.
        case mediaRejected
        /// A system call failed, or the crypto library failed unexpectedly.
        case io
    }

    /// What kind of failure this is.
    public let code: Code
    /// What happened, where, and what to do; free of secrets.
    public let message: String
    /// The underlying error, if any (an errno or a crypto library error).
    public let cause: (any Error & Sendable)?

    /// Creates an error. Callers must keep `message` free of key material and plaintext.
    public init(_ code: Code, _ message: String, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.cause = cause
    }

    /// `code: message`, plus the cause when there is one.
    public var description: String {
        if let cause {
            return "\(code.rawValue): \(message) (\(cause))"
        }
        return "\(code.rawValue): \(message)"
    }
}
