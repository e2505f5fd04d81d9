/// The one error type thrown by RenkeiAccess.
///
/// Messages name fields, logins, municipality codes and files, never a
/// password, a TOTP secret or code, or the name of a person who uses an
/// account, so they are safe to log and to show an operator.
public struct AccessError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is, for callers that branch on it.
    public enum Code: String, Sendable {
        /// A field of an account or a request breaks its rule; `field` names it.
        case invalidField
        /// An account with that login already exists on this node.
        case accountExists
        /// No account with that login exists for that municipality.
        case accountNotFound
        /// A password breaks the length rule.
        case weakPassword
        /// The account file could not be read or written, or is full.
        case storage
        /// The session table holds its maximum number of live sessions.
        case tooManySessions
        /// The account file does not open under this master key, or its contents fail their checks.
        case corrupt
    }

    /// What kind of failure this is.
    public let code: Code
    /// What happened and what to do; free of secrets and personal names.
    public let message: String
    /// The field an `.invalidField` (or `.weakPassword`) is about, e.g. `terminals`.
    public let field: String?
    /// The underlying error, if any (a file system or crypto library error).
    public let cause: (any Error & Sendable)?

    /// Creates an error. Callers keep `message` free of secrets and personal names.
    public init(_ code: Code, _ message: String, field: String? = nil, cause: (any Error & Sendable)? = nil) {
        self.code = code
        self.message = message
        self.field = field
        self.cause = cause
    }

    /// `code: message`, plus the cause when there is one.
    public var description: String {
        if let cause { return "\(code.rawValue): \(message) (\(cause))" }
        return "\(code.rawValue): \(message)"
    }

    static func invalid(_ field: String, _ why: String) -> AccessError {
        AccessError(.invalidField, "\(field): \(why)", field: field)
    }
}
