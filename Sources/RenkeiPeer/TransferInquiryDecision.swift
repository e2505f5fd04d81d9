import RenkeiCore
import RenkeiWire

/// A transfer inquiry whose every field kept its rule.
public struct ValidatedInquiry: Sendable, Equatable {
    public let requestID: String
    public let requester: MunicipalityCode
    public let target: MunicipalityCode
    public let number: IndividualNumber
    public let purpose: Renkei_V1_Purpose
    public let consentReference: String
}

/// What the provider does with one `TransferInquiryRequest`, decided from the
/// request, the verified client certificate's codes and the hosted tenants
/// alone — no storage, no network. The handler then only carries it out.
public enum TransferInquiryDecision: Sendable, Equatable {
    /// A field broke its rule: INVALID_ARGUMENT, message `"<field>: <rule>"`.
    case invalid(field: String, rule: String)
    /// The client certificate does not carry the requester code: PERMISSION_DENIED.
    case permissionDenied
    /// The target tenant is not hosted here: NO_MATCH without a lookup.
    case noMatch(requestID: String)
    /// Look the number up in the target tenant, and only there.
    case lookUp(ValidatedInquiry)

    /// Decides. Field rules come first (from the request alone), then the
    /// certificate, then whether the target is hosted.
    ///
    /// - Parameters:
    ///   - request: the request as received.
    ///   - certificateCodes: the municipality codes of the verified client certificate.
    ///   - hosted: whether this node hosts a tenant.
    ///   - nowMillis: the provider's clock, milliseconds since the epoch.
    public static func decide(
        _ request: Renkei_V1_TransferInquiryRequest,
        certificateCodes: [MunicipalityCode],
        hosted: (MunicipalityCode) -> Bool,
        nowMillis: Int64
    ) -> TransferInquiryDecision {
        let inquiry: ValidatedInquiry
        switch InquiryRules.validate(request, nowMillis: nowMillis) {
        case .failure(let broken): return .invalid(field: broken.field, rule: broken.rule)
        case .success(let valid): inquiry = valid
        }
        guard certificateCodes.contains(inquiry.requester) else { return .permissionDenied }
        guard hosted(inquiry.target) else { return .noMatch(requestID: inquiry.requestID) }
        return .lookUp(inquiry)
    }
}

/// A broken field rule: the field's wire name and the rule, never the value.
public struct BrokenRule: Error, Sendable, Equatable {
    public let field: String
    public let rule: String
    public init(field: String, rule: String) {
        self.field = field
        self.rule = rule
    }
    /// `"<field>: <rule>"`, as the contract words INVALID_ARGUMENT messages.
    public var message: String { "\(field): \(rule)" }
}

/// The contract's field rules for `TransferInquiryRequest` (Protos/README.md).
public enum InquiryRules {
    /// Checks every field in wire order; the first broken rule is returned.
    public static func validate(_ r: Renkei_V1_TransferInquiryRequest, nowMillis: Int64) -> Result<ValidatedInquiry, BrokenRule> {
        do throws(BrokenRule) {
            try checkUUID(r.requestID, field: "request_id")
            let requester = try code(r.requesterCode, field: "requester_code")
            let target = try code(r.targetCode, field: "target_code")
            let number = try individualNumber(r.individualNumber, field: "individual_number")
            switch r.purpose {
            case .transferIn, .certificate: break
            case .unspecified: throw BrokenRule(field: "purpose", rule: "is required")
            case .UNRECOGNIZED: throw BrokenRule(field: "purpose", rule: "is not a known purpose")
            }
            try checkConsentReference(r.consentReference, field: "consent_reference")
            guard r.sentAtUnixMillis != 0 else { throw BrokenRule(field: "sent_at_unix_millis", rule: "is required") }
            guard abs(r.sentAtUnixMillis - nowMillis) <= WireLimits.maxClockSkewMillis else {
                throw BrokenRule(field: "sent_at_unix_millis", rule: "is more than 5 minutes from the provider's clock")
            }
            return .success(ValidatedInquiry(requestID: r.requestID, requester: requester, target: target, number: number,
                                             purpose: r.purpose, consentReference: r.consentReference))
        } catch {
            return .failure(error)
        }
    }

    /// A lowercase canonical version-4 UUID, exactly 36 characters.
    public static func checkUUID(_ text: String, field: String) throws(BrokenRule) {
        if text.isEmpty { throw BrokenRule(field: field, rule: "is required") }
        let bytes = Array(text.utf8)
        guard bytes.count == WireLimits.requestIDLength else {
            throw BrokenRule(field: field, rule: "must be exactly 36 characters")
        }
        for (i, b) in bytes.enumerated() {
            if [8, 13, 18, 23].contains(i) {
                guard b == UInt8(ascii: "-") else { throw BrokenRule(field: field, rule: "must be a lowercase canonical UUID") }
            } else {
                guard (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) else {
                    throw BrokenRule(field: field, rule: "must be a lowercase canonical UUID")
                }
            }
        }
        guard bytes[14] == UInt8(ascii: "4"), [UInt8(ascii: "8"), UInt8(ascii: "9"), UInt8(ascii: "a"), UInt8(ascii: "b")].contains(bytes[19]) else {
            throw BrokenRule(field: field, rule: "must be a version 4 UUID")
        }
    }

    /// A municipality code with its check digit.
    public static func code(_ text: String, field: String) throws(BrokenRule) -> MunicipalityCode {
        if text.isEmpty { throw BrokenRule(field: field, rule: "is required") }
        do throws(ValidationError) {
            return try MunicipalityCode(text)
        } catch {
            throw BrokenRule(field: field, rule: error.message)
        }
    }

    /// An Individual Number with its check digit.
    public static func individualNumber(_ text: String, field: String) throws(BrokenRule) -> IndividualNumber {
        if text.isEmpty { throw BrokenRule(field: field, rule: "is required") }
        do throws(ValidationError) {
            return try IndividualNumber(text)
        } catch {
            throw BrokenRule(field: field, rule: error.message)
        }
    }

    /// 1–64 printable ASCII characters (U+0021–U+007E).
    public static func checkConsentReference(_ text: String, field: String) throws(BrokenRule) {
        if text.isEmpty { throw BrokenRule(field: field, rule: "is required") }
        guard text.utf8.count <= WireLimits.maxConsentReferenceLength else {
            throw BrokenRule(field: field, rule: "must be at most 64 characters")
        }
        guard text.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
            throw BrokenRule(field: field, rule: "must be printable ASCII (U+0021-U+007E)")
        }
    }
}
