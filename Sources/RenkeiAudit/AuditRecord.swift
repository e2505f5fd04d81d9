import RenkeiCore

/// What a caller wants recorded; `AuditLog.append` adds the sequence number,
/// the time and the MAC.
///
/// Never put personal data here: an Individual Number goes in only as its
/// blind index (`numberIndex`, e.g. `TenantPartition.numberIndexHex`), and
/// `detail` is for short technical context such as an error code.
public struct AuditRecord: Sendable, Equatable {
    public var event: AuditEvent
    public var outcome: AuditOutcome
    /// The inquiry's request id (a UUID): at most 36 of `0-9 A-Z a-z -`.
    public var requestID: String?
    /// The municipality that asked.
    public var requesterCode: MunicipalityCode?
    /// The municipality asked about, or moved to.
    public var targetCode: MunicipalityCode?
    /// The person's blind index: 64 lowercase hex characters. Never the number.
    public var numberIndex: String?
    /// SHA-256 of the peer's certificate (DER): 64 lowercase hex characters.
    public var peerCertificateSHA256: String?
    /// Short context, at most 200 UTF-8 bytes, no control characters, no personal data.
    public var detail: String?
    /// Who acted: the operator account's login, 1-32 of `a-z 0-9 . _ -`.
    /// Nil for what the node does on its own (answering a peer, replication).
    public var actor: String?
    /// From where: the operator's terminal name, 1-64 of `A-Z a-z 0-9 . _ : -`.
    public var terminal: String?

    public init(
        event: AuditEvent, outcome: AuditOutcome, requestID: String? = nil,
        requesterCode: MunicipalityCode? = nil, targetCode: MunicipalityCode? = nil,
        numberIndex: String? = nil, peerCertificateSHA256: String? = nil, detail: String? = nil,
        actor: String? = nil, terminal: String? = nil
    ) {
        self.event = event
        self.outcome = outcome
        self.requestID = requestID
        self.requesterCode = requesterCode
        self.targetCode = targetCode
        self.numberIndex = numberIndex
        self.peerCertificateSHA256 = peerCertificateSHA256
        self.detail = detail
        self.actor = actor
        self.terminal = terminal
    }
}

/// The bounds of every entry field. Bounded so one line always fits in
/// `maxLineBytes`, which lets `AuditLog.open` find the last entries by
/// reading a small tail of the file, and so nothing bulky (a name list, a
/// whole record) can be smuggled into the log.
public enum AuditLimits {
    public static let requestIDBytes = 36
    public static let codeBytes = 6
    public static let hexDigestCharacters = 64
    public static let detailBytes = 200
    public static let tokenBytes = 40
    public static let actorBytes = 32
    public static let terminalBytes = 64
    /// Longest line (JSON and newline) a valid entry can produce, with room to spare.
    public static let maxLineBytes = 2048
}
