import RenkeiCore
import RenkeiTenantStore
import RenkeiWire

/// A bulk batch whose batch-level fields kept their rules and whose requester
/// the client certificate carries.
public struct ValidatedBatch: Sendable, Equatable {
    public let batchID: String
    public let requester: MunicipalityCode
    public let purpose: Renkei_V1_Purpose
}

/// What the provider does with one `BulkInquiryRequest` at the batch level,
/// decided from the message, the verified certificate's codes and the
/// stream's state alone. Every case but `.accept` fails the stream.
public enum BulkBatchDecision: Sendable, Equatable {
    /// A batch-level field broke its rule, the batch_id was used before on
    /// the stream, or the item count is outside 1…1000: INVALID_ARGUMENT.
    case invalid(field: String, rule: String)
    /// The client certificate does not carry the requester code: PERMISSION_DENIED.
    case permissionDenied
    /// A 9th batch in flight: RESOURCE_EXHAUSTED.
    case tooManyInFlight
    /// Answer the batch's items.
    case accept(ValidatedBatch)

    /// Decides. Field rules first (from the message alone), then batch_id
    /// reuse, then the certificate, then the in-flight limit.
    ///
    /// - Parameters:
    ///   - stream: the stream's state; an accepted batch is recorded in it.
    public static func decide(
        _ request: Renkei_V1_BulkInquiryRequest,
        certificateCodes: [MunicipalityCode],
        stream: inout BulkStreamState,
        nowMillis: Int64
    ) -> BulkBatchDecision {
        let requester: MunicipalityCode
        do throws(BrokenRule) {
            try InquiryRules.checkUUID(request.batchID, field: "batch_id")
            requester = try InquiryRules.code(request.requesterCode, field: "requester_code")
            switch request.purpose {
            case .transferIn, .certificate: break
            case .unspecified: throw BrokenRule(field: "purpose", rule: "is required")
            case .UNRECOGNIZED: throw BrokenRule(field: "purpose", rule: "is not a known purpose")
            }
            guard request.sentAtUnixMillis != 0 else { throw BrokenRule(field: "sent_at_unix_millis", rule: "is required") }
            guard abs(request.sentAtUnixMillis - nowMillis) <= WireLimits.maxClockSkewMillis else {
                throw BrokenRule(field: "sent_at_unix_millis", rule: "is more than 5 minutes from the provider's clock")
            }
            guard !request.items.isEmpty else { throw BrokenRule(field: "items", rule: "must hold at least 1 item") }
            guard request.items.count <= WireLimits.maxBulkItemsPerMessage else {
                throw BrokenRule(field: "items", rule: "must hold at most \(WireLimits.maxBulkItemsPerMessage) items")
            }
            guard !stream.usedBatchIDs.contains(request.batchID) else {
                throw BrokenRule(field: "batch_id", rule: "was already used on this stream")
            }
        } catch {
            return .invalid(field: error.field, rule: error.rule)
        }
        guard certificateCodes.contains(requester) else { return .permissionDenied }
        guard stream.inFlight < WireLimits.maxBatchesInFlight else { return .tooManyInFlight }
        stream.usedBatchIDs.insert(request.batchID)
        stream.inFlight += 1
        return .accept(ValidatedBatch(batchID: request.batchID, requester: requester, purpose: request.purpose))
    }
}

/// What one InquireBulk stream has seen: batch IDs used and batches in flight
/// (accepted, last response not yet sent).
public struct BulkStreamState: Sendable, Equatable {
    public var usedBatchIDs: Set<String> = []
    public var inFlight = 0
    public init() {}

    /// The batch's last response is about to be sent. Counted down before the
    /// write, so the provider's count is never above what a requester that
    /// waits for `batch_complete` believes.
    public mutating func complete() {
        precondition(inFlight > 0, "a batch completed that was not in flight")
        inFlight -= 1
    }
}

/// The hints of an item, already checked for format.
public struct BulkHints: Sendable, Equatable {
    /// 氏名カナ with every U+0020 and U+3000 removed; nil if not given.
    public let nameKana: [Unicode.Scalar]?
    public let dateOfBirth: LocalDate?

    public init(nameKana: String?, dateOfBirth: LocalDate?) {
        self.nameKana = nameKana.map(Self.withoutSpaces)
        self.dateOfBirth = dateOfBirth
    }

    /// Whether a resident agrees with every hint given (no hints: true).
    public func agree(with resident: Resident) -> Bool {
        if let dateOfBirth, dateOfBirth != resident.dateOfBirth { return false }
        if let nameKana, nameKana != Self.withoutSpaces(resident.nameKana) { return false }
        return true
    }

    /// Kana registers differ in where they put spaces between family and
    /// given name, and whether full- or half-width: compare without any.
    static func withoutSpaces(_ text: String) -> [Unicode.Scalar] {
        text.unicodeScalars.filter { $0 != " " && $0 != "\u{3000}" }
    }
}

/// One item to look up: where its result goes, the number and the hints.
public struct BulkLookup: Sendable, Equatable {
    /// Index of the item in the batch (and of its result).
    public let index: Int
    public let number: IndividualNumber
    public let hints: BulkHints
}

/// The plan for one batch's items: results decided from the items alone, and
/// lookups grouped by target tenant (one batched read per tenant).
public struct BulkPlan: Sendable {
    /// One slot per item, in item order; nil where a lookup decides.
    public var results: [Renkei_V1_BulkResult?]
    /// Lookups by hosted target tenant.
    public var lookups: [MunicipalityCode: [BulkLookup]]
    /// Items that named a valid target this node does not host: NO_MATCH
    /// without a lookup (the handler does a decoy read for each).
    public var unhosted: [Int]
    /// Per hosted target: how many items named it and were INVALID.
    public var invalidByTarget: [MunicipalityCode: Int]

    /// Checks every item (InquiryRules, hint formats, item_id unique in the
    /// batch) and sorts the rest by target. Decided from the items and which
    /// tenants are hosted, never from stored data.
    public static func make(_ items: [BulkItem], hosted: (MunicipalityCode) -> Bool) -> BulkPlan {
        var plan = BulkPlan(results: [Renkei_V1_BulkResult?](repeating: nil, count: items.count),
                            lookups: [:], unhosted: [], invalidByTarget: [:])
        var seenIDs = Set<UInt32>(minimumCapacity: items.count)
        for (index, item) in items.enumerated() {
            switch BulkItemDecision.decide(item, seenIDs: &seenIDs, hosted: hosted) {
            case .invalid(let field, let rule, let target):
                plan.results[index] = .invalid(itemID: item.itemID, field: field, rule: rule)
                if let target { plan.invalidByTarget[target, default: 0] += 1 }
            case .unhosted:
                plan.results[index] = .noMatch(itemID: item.itemID)
                plan.unhosted.append(index)
            case .lookUp(let target, let number, let hints):
                plan.lookups[target, default: []].append(BulkLookup(index: index, number: number, hints: hints))
            }
        }
        return plan
    }
}

/// An item as the planner needs it (the wire message's fields, by value).
public typealias BulkItem = Renkei_V1_BulkItem

/// What the provider does with one item, from the item alone.
public enum BulkItemDecision: Sendable, Equatable {
    /// BULK_OUTCOME_INVALID naming field and rule; `target` is the item's
    /// target code if it is valid and hosted (for the audit counts).
    case invalid(field: String, rule: String, target: MunicipalityCode?)
    /// A valid item naming a target this node does not host: NO_MATCH.
    case unhosted
    /// Look the number up in `target`, and only there.
    case lookUp(target: MunicipalityCode, number: IndividualNumber, hints: BulkHints)

    /// Decides; fields are checked in wire order, item_id first.
    public static func decide(_ item: BulkItem, seenIDs: inout Set<UInt32>, hosted: (MunicipalityCode) -> Bool) -> BulkItemDecision {
        // Known before any rule is checked, so an INVALID item still counts
        // in the audit of the hosted tenant it names.
        var target: MunicipalityCode?
        if let named = try? MunicipalityCode(item.targetCode), hosted(named) { target = named }
        do throws(BrokenRule) {
            guard item.itemID != 0 else { throw BrokenRule(field: "item_id", rule: "must be 1 or more") }
            guard seenIDs.insert(item.itemID).inserted else {
                throw BrokenRule(field: "item_id", rule: "is repeated within the batch")
            }
            _ = try InquiryRules.code(item.targetCode, field: "target_code")
            let number = try InquiryRules.individualNumber(item.individualNumber, field: "individual_number")
            try InquiryRules.checkConsentReference(item.consentReference, field: "consent_reference")
            let kana = item.nameKanaHint.isEmpty ? nil : item.nameKanaHint
            if let kana { try checkKanaHint(kana) }
            var dateOfBirth: LocalDate?
            if !item.dateOfBirthHint.isEmpty {
                dateOfBirth = try checkDateHint(item.dateOfBirthHint)
            }
            guard let target else { return .unhosted }
            return .lookUp(target: target, number: number, hints: BulkHints(nameKana: kana, dateOfBirth: dateOfBirth))
        } catch {
            return .invalid(field: error.field, rule: error.rule, target: target)
        }
    }

    /// The rule of ResidentSummary.name_kana: 1–60 characters of full-width
    /// katakana (U+30A1–U+30FA), U+30FB, U+30FC and spaces.
    static func checkKanaHint(_ text: String) throws(BrokenRule) {
        var count = 0
        for scalar in text.unicodeScalars {
            count += 1
            let v = scalar.value
            guard (0x30A1...0x30FC).contains(v) || v == 0x3000 || v == 0x20 else {
                throw BrokenRule(field: "name_kana_hint", rule: "must be full-width katakana, U+30FB, U+30FC or spaces")
            }
        }
        guard count <= 60 else { throw BrokenRule(field: "name_kana_hint", rule: "must be at most 60 characters") }
    }

    /// Exactly `YYYY-MM-DD`, an existing date.
    static func checkDateHint(_ text: String) throws(BrokenRule) -> LocalDate {
        let bytes = Array(text.utf8)
        guard bytes.count == 10, bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-") else {
            throw BrokenRule(field: "date_of_birth_hint", rule: "must be a date as YYYY-MM-DD")
        }
        do throws(ValidationError) {
            return try LocalDate(parsing: text)
        } catch {
            throw BrokenRule(field: "date_of_birth_hint", rule: "must be an existing date as YYYY-MM-DD")
        }
    }
}

/// The counts of one hosted target's items in one batch, as audited.
public struct BulkCounts: Sendable, Equatable {
    public var match = 0
    public var noMatch = 0
    public var invalid = 0
    public init(match: Int = 0, noMatch: Int = 0, invalid: Int = 0) {
        self.match = match
        self.noMatch = noMatch
        self.invalid = invalid
    }
    public var items: Int { match + noMatch + invalid }
    /// The audit entry's detail: counts only, never a number.
    public var detail: String { "items \(items); match \(match); no-match \(noMatch); invalid \(invalid)" }
}
