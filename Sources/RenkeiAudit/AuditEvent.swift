/// What happened, as the `event` field of an audit entry.
///
/// Open rather than an enum, so later work (operator login, import, export…)
/// can add events without changing this module, and a verifier built before
/// an event existed still reads and verifies entries that carry it. The
/// value must be 1–40 characters of `a`–`z`, `0`–`9` and `-`; `append` checks.
public struct AuditEvent: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// This node asked a peer for a person's file (the requester's side).
    public static let inquirySent = AuditEvent(rawValue: "inquiry-sent")
    /// This node answered a peer's inquiry (the provider's side), whatever the answer.
    public static let inquiryAnswered = AuditEvent(rawValue: "inquiry-answered")
    /// A file received from another municipality was stored.
    public static let recordsReceived = AuditEvent(rawValue: "records-received")
    /// A resident was marked as moved out (転出).
    public static let movedOutMarked = AuditEvent(rawValue: "moved-out-marked")

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}

/// How an audited action ended, as the `outcome` field. Open like `AuditEvent`,
/// with the same character rules.
public struct AuditOutcome: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// The person was found; a file was (or will be) returned.
    public static let match = AuditOutcome(rawValue: "match")
    /// The person was not found (or the request could not be answered with a match).
    public static let noMatch = AuditOutcome(rawValue: "no-match")
    /// The request broke a rule of the contract.
    public static let invalidArgument = AuditOutcome(rawValue: "invalid-argument")
    /// The requester was not allowed to ask.
    public static let permissionDenied = AuditOutcome(rawValue: "permission-denied")
    /// The action failed.
    public static let error = AuditOutcome(rawValue: "error")
    /// Something new was stored.
    public static let stored = AuditOutcome(rawValue: "stored")
    /// Something stored before was replaced.
    public static let replaced = AuditOutcome(rawValue: "replaced")
    /// Nothing changed: what was asked for was already there.
    public static let unchanged = AuditOutcome(rawValue: "unchanged")
    /// A flag was set.
    public static let marked = AuditOutcome(rawValue: "marked")
    /// The flag was already set as asked.
    public static let alreadyMarked = AuditOutcome(rawValue: "already-marked")
    /// The subject (e.g. a resident) does not exist here.
    public static let notFound = AuditOutcome(rawValue: "not-found")

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
