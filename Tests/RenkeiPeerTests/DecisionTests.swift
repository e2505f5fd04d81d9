import Foundation
import RenkeiCore
import RenkeiWire
import Testing
@testable import RenkeiPeer

/// TransferInquiryDecision without a network or a store.
@Suite struct DecisionTests {
    let valid = "123456789018"
    let now = Int64(Date().timeIntervalSince1970 * 1000)

    func decide(_ r: Renkei_V1_TransferInquiryRequest, codes: [MunicipalityCode] = [izumo],
                hosted: Set<MunicipalityCode> = [matsue]) -> TransferInquiryDecision {
        TransferInquiryDecision.decide(r, certificateCodes: codes, hosted: { hosted.contains($0) }, nowMillis: now)
    }

    @Test func validRequestForHostedTenantIsLookedUpThere() throws {
        let r = request(number: valid)
        guard case .lookUp(let inquiry) = decide(r) else { Issue.record("expected lookUp"); return }
        #expect(inquiry.target == matsue)
        #expect(inquiry.requester == izumo)
        #expect(inquiry.number.digits == valid)
        #expect(inquiry.requestID == r.requestID)
    }

    @Test func unhostedTargetIsNoMatchWithoutLookup() {
        let r = request(number: valid, target: yasugi)
        #expect(decide(r) == .noMatch(requestID: r.requestID))
    }

    @Test func requesterNotInCertificateIsDenied() {
        #expect(decide(request(number: valid, requester: hamada), codes: [izumo]) == .permissionDenied)
    }

    @Test func fieldRulesComeBeforeThePermissionCheck() {
        // A malformed request is INVALID even from a certificate without the code.
        #expect(decide(request(number: "123456789012", requester: hamada), codes: [izumo])
                == .invalid(field: "individual_number", rule: "check digit does not match the first eleven digits"))
    }

    typealias Breakage = @Sendable (inout Renkei_V1_TransferInquiryRequest) -> Void
    static let breakages: [(String, Breakage)] = [
        ("request_id", { r in r.requestID = "" }),
        ("request_id", { r in r.requestID = "not-a-uuid" }),
        ("request_id", { r in r.requestID = r.requestID.uppercased() }),
        ("request_id", { r in r.requestID = "123e4567-e89b-12d3-a456-426614174000" }),
        ("requester_code", { r in r.requesterCode = "32203" }),
        ("requester_code", { r in r.requesterCode = "322033" }),
        ("target_code", { r in r.targetCode = "" }),
        ("target_code", { r in r.targetCode = "999999" }),
        ("individual_number", { r in r.individualNumber = "" }),
        ("individual_number", { r in r.individualNumber = "12345678901" }),
        ("individual_number", { r in r.individualNumber = "12345678901a" }),
        ("individual_number", { r in r.individualNumber = "123456789012" }),
        ("purpose", { r in r.purpose = .unspecified }),
        ("consent_reference", { r in r.consentReference = "" }),
        ("consent_reference", { r in r.consentReference = "with space" }),
        ("consent_reference", { r in r.consentReference = String(repeating: "x", count: 65) }),
        ("sent_at_unix_millis", { r in r.sentAtUnixMillis = 0 }),
        ("sent_at_unix_millis", { r in r.sentAtUnixMillis -= 301_000 }),
    ]

    @Test(arguments: DecisionTests.breakages)
    func brokenFieldIsNamed(field: String, breakIt: @Sendable (inout Renkei_V1_TransferInquiryRequest) -> Void) {
        var r = request(number: valid)
        breakIt(&r)
        guard case .invalid(let named, let rule) = decide(r) else {
            Issue.record("expected INVALID for \(field)")
            return
        }
        #expect(named == field)
        #expect(!rule.isEmpty)
        #expect(!rule.contains(r.individualNumber) || r.individualNumber.isEmpty)
    }

    @Test func noMatchPaddingIsOneSizeWhateverTheReason() throws {
        var a = Renkei_V1_TransferInquiryResponse.noMatch(requestID: UUID().uuidString.lowercased())
        var b = Renkei_V1_TransferInquiryResponse.noMatch(requestID: UUID().uuidString.lowercased())
        #expect(try a.applyPadding() == 4096)
        #expect(try b.applyPadding() == 4096)
        #expect(try wireSize(a) == wireSize(b))
    }
}
