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

    // Operator events (issue 6).
    /// An operator logged in.
    public static let login = AuditEvent(rawValue: "login")
    /// A login was refused (unknown account, wrong password or code, disabled, dormant, or locked out).
    public static let loginFailed = AuditEvent(rawValue: "login-failed")
    /// An operator logged out.
    public static let logout = AuditEvent(rawValue: "logout")
    /// A session ended by its idle or absolute limit.
    public static let sessionExpired = AuditEvent(rawValue: "session-expired")
    /// Records were imported from a resident-register file.
    public static let recordsImported = AuditEvent(rawValue: "records-imported")
    /// Records were exported.
    public static let recordsExported = AuditEvent(rawValue: "records-exported")
    /// An operator viewed a resident's record.
    public static let residentViewed = AuditEvent(rawValue: "resident-viewed")
    /// A resident's record was deleted.
    public static let residentDeleted = AuditEvent(rawValue: "resident-deleted")
    /// A tenant (municipality) was deleted and its keys shredded.
    public static let tenantDeleted = AuditEvent(rawValue: "tenant-deleted")
    /// An operator account was created.
    public static let accountAdded = AuditEvent(rawValue: "account-added")
    /// An operator account was disabled.
    public static let accountDisabled = AuditEvent(rawValue: "account-disabled")
    /// The periodic review of accounts was produced.
    public static let accountsReviewed = AuditEvent(rawValue: "accounts-reviewed")
    /// An audit log export was produced for auditors.
    public static let auditExported = AuditEvent(rawValue: "audit-exported")
    /// An operator requested a backup.
    public static let backupRequested = AuditEvent(rawValue: "backup-requested")
    /// A restore was performed.
    public static let restorePerformed = AuditEvent(rawValue: "restore-performed")
    /// An export sealed for removable media was written.
    public static let mediaExported = AuditEvent(rawValue: "media-exported")
    /// An operator reported a removable-media export as erased.
    public static let mediaErased = AuditEvent(rawValue: "media-erased")
    /// An operation was refused because the account's role does not allow it.
    public static let permissionDenied = AuditEvent(rawValue: "permission-denied")
    /// The node's master key was replaced (`renkei key rotate-master`); the
    /// detail names the old and new fingerprints.
    public static let masterKeyRotated = AuditEvent(rawValue: "master-key-rotated")

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
    /// The operation succeeded (operator operations with no more specific outcome).
    public static let ok = AuditOutcome(rawValue: "ok")
    /// The operation was refused: not allowed for this account, or a login was refused.
    public static let denied = AuditOutcome(rawValue: "denied")

    public var description: String { rawValue }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
}
