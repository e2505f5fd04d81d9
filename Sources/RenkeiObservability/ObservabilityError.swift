/// A failure of the observability endpoint. Messages name addresses and
/// limits only; the endpoint never sees personal data, and request paths are
/// not quoted (a scraper could put anything in them).
public struct ObservabilityError: Error, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The settings are invalid (the message names the field).
        case configuration
        /// The listener could not be bound.
        case bind
        /// `run()` was called a second time on the same server.
        case alreadyRunning
        /// The server stopped (or failed to start) before it was listening.
        case notListening
        /// A connection beyond ``ObservabilityServer/maxConnections`` was refused.
        case tooManyConnections
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
