import Foundation
import RenkeiCore
import RenkeiWire
import Testing
@testable import RenkeiPeer

/// The bulk path's pure parts: batch and item decisions, the plan, and the
/// limiter with injected time. No network, no storage.
@Suite struct BulkDecisionTests {
    let now: Int64 = 1_800_000_000_000
    let number = try! IndividualNumber.completing(firstEleven: "12345678901")

    func batch(_ items: [Renkei_V1_BulkItem], requester: MunicipalityCode = izumo, id: String = UUID().uuidString.lowercased()) -> Renkei_V1_BulkInquiryRequest {
        var r = bulkBatch(items, requester: requester, batchID: id)
        r.sentAtUnixMillis = now
        return r
    }

    @Test func batchLevelRulesFailTheStream() {
        var stream = BulkStreamState()
        let one = [bulkItem(1, number.digits)]
        var bad = batch(one)
        bad.batchID = "not-a-uuid"
        check(BulkBatchDecision.decide(bad, certificateCodes: [izumo], stream: &stream, nowMillis: now)
                == .invalid(field: "batch_id", rule: "must be exactly 36 characters"))
        var late = batch(one)
        late.sentAtUnixMillis = now - 300_001
        check(BulkBatchDecision.decide(late, certificateCodes: [izumo], stream: &stream, nowMillis: now)
                == .invalid(field: "sent_at_unix_millis", rule: "is more than 5 minutes from the provider's clock"))
        var noPurpose = batch(one)
        noPurpose.purpose = .unspecified
        check(BulkBatchDecision.decide(noPurpose, certificateCodes: [izumo], stream: &stream, nowMillis: now)
                == .invalid(field: "purpose", rule: "is required"))
        check(BulkBatchDecision.decide(batch([]), certificateCodes: [izumo], stream: &stream, nowMillis: now)
                == .invalid(field: "items", rule: "must hold at least 1 item"))
        let tooMany = batch((1...1001).map { bulkItem(UInt32($0), number.digits) })
        check(BulkBatchDecision.decide(tooMany, certificateCodes: [izumo], stream: &stream, nowMillis: now)
                == .invalid(field: "items", rule: "must hold at most 1000 items"))
        check(BulkBatchDecision.decide(batch(one, requester: hamada), certificateCodes: [izumo], stream: &stream, nowMillis: now)
                == .permissionDenied)
        #expect(stream == BulkStreamState())
    }

    @Test func batchIDsAreUniqueAndAtMostEightInFlight() {
        var stream = BulkStreamState()
        let one = [bulkItem(1, number.digits)]
        let first = batch(one)
        guard case .accept(let accepted) = BulkBatchDecision.decide(first, certificateCodes: [izumo], stream: &stream, nowMillis: now) else {
            Issue.record("a valid batch was not accepted")
            return
        }
        #expect(accepted.requester == izumo)
        #expect(accepted.batchID == first.batchID)
        check(BulkBatchDecision.decide(first, certificateCodes: [izumo], stream: &stream, nowMillis: now)
                == .invalid(field: "batch_id", rule: "was already used on this stream"))
        for _ in 2...8 {
            guard case .accept = BulkBatchDecision.decide(batch(one), certificateCodes: [izumo], stream: &stream, nowMillis: now) else {
                Issue.record("a batch within the limit was refused")
                return
            }
        }
        #expect(stream.inFlight == 8)
        check(BulkBatchDecision.decide(batch(one), certificateCodes: [izumo], stream: &stream, nowMillis: now) == .tooManyInFlight)
        stream.complete()
        guard case .accept = BulkBatchDecision.decide(batch(one), certificateCodes: [izumo], stream: &stream, nowMillis: now) else {
            Issue.record("a batch after a completion was refused")
            return
        }
        #expect(stream.inFlight == 8)
    }

    @Test func itemsAreDecidedFromTheItemAlone() {
        let hosted: (MunicipalityCode) -> Bool = { $0 == matsue }
        let badCheck = String(number.digits.dropLast()) + String((Int(String(number.digits.last!))! + 1) % 10)
        let items = [
            bulkItem(1, number.digits),
            bulkItem(2, number.digits, target: yasugi),
            bulkItem(3, badCheck),
            bulkItem(1, number.digits),
            bulkItem(0, number.digits),
            bulkItem(6, number.digits, kana: "やまだ"),
            bulkItem(7, number.digits, dateOfBirth: "2001-02-30"),
            bulkItem(8, number.digits, dateOfBirth: "2001/02/03"),
            bulkItem(9, number.digits, kana: "ヤマダ　タロウ", dateOfBirth: "2001-02-03"),
            bulkItem(10, badCheck, target: yasugi),
        ]
        let plan = BulkPlan.make(items, hosted: hosted)
        #expect(plan.results[0] == nil)
        #expect(plan.results[1]?.outcome == .noMatch)
        #expect(plan.unhosted == [1])
        #expect(plan.results[2]?.invalidField.hasPrefix("individual_number: ") == true)
        #expect(plan.results[2]?.invalidField.contains(badCheck) == false)
        #expect(plan.results[3]?.invalidField == "item_id: is repeated within the batch")
        #expect(plan.results[4]?.invalidField == "item_id: must be 1 or more")
        #expect(plan.results[5]?.invalidField.hasPrefix("name_kana_hint: ") == true)
        #expect(plan.results[6]?.invalidField.hasPrefix("date_of_birth_hint: ") == true)
        #expect(plan.results[7]?.invalidField.hasPrefix("date_of_birth_hint: ") == true)
        #expect(plan.results[8] == nil)
        #expect(plan.results[9]?.outcome == .invalid)
        #expect(plan.lookups[matsue]?.map(\.index) == [0, 8])
        // Invalid items naming a hosted target count in its audit; others in none.
        #expect(plan.invalidByTarget == [matsue: 6])
    }

    @Test func hintsCompareKanaWithoutSpacesAndTheDateExactly() throws {
        let resident = people(matsue, count: 1, seed: 5)[0].resident
        let kana = resident.nameKana
        let squeezed = kana.replacingOccurrences(of: "\u{3000}", with: "").replacingOccurrences(of: " ", with: "")
        #expect(BulkHints(nameKana: nil, dateOfBirth: nil).agree(with: resident))
        #expect(BulkHints(nameKana: squeezed, dateOfBirth: resident.dateOfBirth).agree(with: resident))
        #expect(BulkHints(nameKana: " " + kana.replacingOccurrences(of: "\u{3000}", with: " ") + "\u{3000}", dateOfBirth: nil).agree(with: resident))
        #expect(!BulkHints(nameKana: squeezed + "ア", dateOfBirth: nil).agree(with: resident))
        let otherDay = try LocalDate(year: resident.dateOfBirth.year == 2000 ? 2001 : 2000, month: 1, day: 1)
        #expect(!BulkHints(nameKana: nil, dateOfBirth: otherDay).agree(with: resident))
    }

    @Test func auditDetailHoldsCountsOnly() {
        #expect(BulkCounts(match: 2, noMatch: 1, invalid: 1).detail == "items 4; match 2; no-match 1; invalid 1")
    }
}

/// The fairness rules with injected time.
@Suite struct BulkLimiterTests {
    let second: UInt64 = 1_000_000_000

    @Test func streamsPerRequesterAreCountedPerRequester() {
        var limits = BulkLimiterState(streamsPerRequester: 2, itemsPerSecond: 100, workers: 1)
        check(limits.openStream(izumo))
        check(limits.openStream(izumo))
        check(!limits.openStream(izumo))
        check(limits.openStream(yasugi))
        limits.closeStream(izumo)
        check(limits.openStream(izumo))
        #expect(limits.streams == [izumo: 2, yasugi: 1])
    }

    @Test func overRateBatchesWaitForTheirTokens() {
        var limits = BulkLimiterState(streamsPerRequester: 1, itemsPerSecond: 100, workers: 1)
        let t0: UInt64 = 5 * second
        check(limits.admit(izumo, items: 100, nowNanos: t0) == .proceed)
        check(limits.admit(izumo, items: 50, nowNanos: t0) == .wait(nanos: second / 2))
        // Another requester has its own bucket.
        check(limits.admit(yasugi, items: 100, nowNanos: t0) == .proceed)
        check(limits.admit(izumo, items: 50, nowNanos: t0 + second / 4) == .wait(nanos: second / 4))
        check(limits.admit(izumo, items: 50, nowNanos: t0 + second / 2) == .proceed)
        check(limits.admit(izumo, items: 1, nowNanos: t0 + second / 2) == .wait(nanos: second / 100))
    }

    @Test func aBatchLargerThanASecondGoesFromAFullBucketAndLeavesDebt() {
        var limits = BulkLimiterState(streamsPerRequester: 1, itemsPerSecond: 100, workers: 1)
        check(limits.admit(izumo, items: 250, nowNanos: 0) == .proceed)
        // 150 in debt: one item needs 151 tokens of refill, 1.51 s.
        check(limits.admit(izumo, items: 1, nowNanos: 0) == .wait(nanos: 1_510_000_000))
        // The bucket never holds more than one second's worth.
        check(limits.admit(izumo, items: 100, nowNanos: 100 * second) == .proceed)
        check(limits.admit(izumo, items: 1, nowNanos: 100 * second) == .wait(nanos: second / 100))
    }

    @Test func workersAreSharedAndGivenBack() {
        var limits = BulkLimiterState(streamsPerRequester: 1, itemsPerSecond: 1, workers: 2)
        check(limits.takeWorker())
        check(limits.takeWorker())
        check(!limits.takeWorker())
        limits.releaseWorker()
        check(limits.takeWorker())
        #expect(limits.busyWorkers == 2)
    }

    @Test func theShellQueuesBatchesBeyondItsWorkers() async throws {
        let limiter = BulkLimiter(NodeConfig.Limits(bulkWorkers: 1))
        let entered = Gate()
        let release = Gate()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await limiter.withWorker {
                    entered.open()
                    await release.wait()
                }
            }
            await entered.wait()
            #expect(limiter.snapshot.busyWorkers == 1)
            let second = Task { try await limiter.withWorker { limiter.snapshot.busyWorkers } }
            release.open()
            #expect(try await second.value == 1)
            try await group.waitForAll()
        }
        #expect(limiter.snapshot.busyWorkers == 0)
    }

    @Test func limitsDecodeWithDefaults() throws {
        let limits = try JSONDecoder().decode(NodeConfig.Limits.self, from: Data(#"{"bulkStreamsPerRequester": 2}"#.utf8))
        #expect(limits.bulkStreamsPerRequester == 2)
        #expect(limits.bulkItemsPerSecondPerRequester == 200_000)
        #expect(limits.bulkWorkers == max(1, ProcessInfo.processInfo.activeProcessorCount - 1))
        #expect(limits.maxMessageBytes == 4 * 1024 * 1024)
    }
}

/// `#expect` for expressions that mutate (the macro cannot take them).
func check(_ condition: Bool, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(condition, sourceLocation: sourceLocation)
}
