/// A node-level failure: what went wrong, where, and what to do about it.
///
/// Messages never contain personal data: they name tenants by municipality
/// code and records by count or position, never by number or name.
public struct NodeError: Error, CustomStringConvertible, Sendable {
    public enum Code: String, Sendable {
        case notInitialized
        case alreadyInitialized
        case tenantExists
        case tenantNotFound
        case keys
        case storage
        case corrupted
        case conflict
        case invalidArgument
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
