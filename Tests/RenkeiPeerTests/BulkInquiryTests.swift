import Foundation
import GRPCCore
import RenkeiCore
import RenkeiPKI
import RenkeiSynth
import RenkeiTenantStore
import RenkeiWire
import Testing
@testable import RenkeiPeer

/// InquireBulk end to end over real mutual TLS on 127.0.0.1.
///
/// The provider is a shared node hosting Matsue (322016) and Hamada (322024);
/// its certificate also carries Yasugi (322067), which it does not host. The
/// requester is Izumo (322032); Yasugi's own node asks single inquiries.
@Suite struct BulkInquiryTests {
    let fed: Federation
    let provider: IssuedCertificate
    let store: NodeStore
    let metrics = PeerMetrics()
    let matsuePeople = people(matsue, count: 5, seed: 322016)
    let hamadaPeople = people(hamada, count: 5, seed: 322024)

    init() throws {
        fed = try Federation()
        provider = try fed.issue("shared", codes: [matsue, hamada, yasugi])
        try fed.issue("izumo", codes: [izumo])
        try fed.issue("yasugi-node", codes: [yasugi])
        store = try fed.makeStore("shared", hosting: [matsue, hamada])
    }

    func directory(port: Int) throws -> String {
        try fed.signDirectory([matsue: (port, provider), hamada: (port, provider), yasugi: (port, provider)])
    }

    /// The requester's configuration and route to the provider.
    func requester(_ name: String = "izumo", port: Int) throws -> (NodeConfig, PeerRoute) {
        let config = fed.config(name, directory: try directory(port: port))
        return (config, try PeerRoute.lookUp(matsue, config: config, trust: try PeerTrust.load(config).trust))
    }

    func providerConfig(_ change: (inout NodeConfig.Limits) -> Void = { _ in }) -> NodeConfig {
        var config = fed.config("shared")
        change(&config.limits)
        return config
    }

    @Test func oneBatchAnswersEveryKindOfItemByItemID() async throws {
        let person = matsuePeople.first { !$0.vaccinations.isEmpty } ?? matsuePeople[0]
        let other = matsuePeople.first { $0.resident.individualNumber != person.resident.individualNumber }!
        let unknown = try unknownNumber(1)
        #expect(!(matsuePeople + hamadaPeople).contains { $0.resident.individualNumber == unknown })
        let spacedKana = person.resident.nameKana.replacingOccurrences(of: "\u{3000}", with: " ") + "\u{3000}"
        let badCheck = String(person.resident.individualNumber.digits.dropLast())
            + String((Int(String(person.resident.individualNumber.digits.last!))! + 1) % 10)
        let items = [
            bulkItem(1, person.resident.individualNumber.digits),
            bulkItem(2, hamadaPeople[0].resident.individualNumber.digits),                      // misaddressed
            bulkItem(3, unknown.digits),                                                         // unknown
            bulkItem(4, person.resident.individualNumber.digits, target: yasugi),                // not hosted
            bulkItem(5, other.resident.individualNumber.digits, dateOfBirth: "1900-01-01"),      // hint disagrees
            bulkItem(6, other.resident.individualNumber.digits, kana: "アアア"),                   // hint disagrees
            bulkItem(7, badCheck),                                                               // bad check digit
            bulkItem(8, hamadaPeople[1].resident.individualNumber.digits, target: hamada,
                     kana: hamadaPeople[1].resident.nameKana,
                     dateOfBirth: hamadaPeople[1].resident.dateOfBirth.iso),                     // hints agree
            bulkItem(9, person.resident.individualNumber.digits, kana: spacedKana),               // spaces ignored
            bulkItem(7, unknown.digits),                                                         // duplicate item_id
        ]
        let batch = bulkBatch(items)
        let outcome = try await withProvider(providerConfig(), store: store, metrics: metrics) { port in
            let (config, route) = try requester(port: port)
            return try await rawBulk([batch], route: route, config: config)
        }
        #expect(outcome.error == nil)
        #expect(outcome.completed == [batch.batchID])
        let results = outcome.results(of: batch.batchID)
        #expect(Set(results.keys) == Set(1...9))
        #expect(results[1]?.outcome == .match)
        #expect(results[1]?.match.resident.nameKana == person.resident.nameKana)
        #expect(results[1]?.match.doses.count == person.vaccinations.count)
        for id: UInt32 in [2, 3, 4, 5, 6] {
            #expect(results[id]?.outcome == .noMatch, "item \(id)")
            #expect(results[id]?.hasMatch == false)
            #expect(results[id]?.invalidField == "")
        }
        // Item 7 appears twice: the first is INVALID for its check digit, the
        // repeat for its item_id; whichever result came last, it is INVALID
        // and names a field, never the value.
        #expect(results[7]?.outcome == .invalid)
        let invalid = outcome.responses.flatMap(\.results).filter { $0.itemID == 7 }.map(\.invalidField)
        #expect(invalid.count == 2)
        #expect(invalid.contains { $0.hasPrefix("individual_number: ") && $0.contains("check digit") })
        #expect(invalid.contains { $0.hasPrefix("item_id: ") })
        #expect(!invalid.contains { $0.contains(badCheck) || $0.contains(unknown.digits) })
        #expect(results[8]?.outcome == .match)
        #expect(results[9]?.outcome == .match)
        for response in outcome.responses {
            #expect(ResponsePadding.buckets.contains(try wireSize(response)))
        }
        let counts = metrics.snapshot
        #expect(counts.bulkBatches == 1)
        #expect(counts.bulkMatches == 3)
        #expect(counts.bulkNoMatches == 5)
        #expect(counts.bulkInvalid == 2)
        #expect(counts.bulkRefusedStreams == 0)
    }

    @Test func severalBatchesOnOneStreamAreEachCompleted() async throws {
        let batches = (0..<5).map { b in
            bulkBatch(matsuePeople.enumerated().map { i, p in bulkItem(UInt32(i + 1), p.resident.individualNumber.digits) }
                      + [bulkItem(100, try! unknownNumber(b).digits)])
        }
        let outcome = try await withProvider(providerConfig(), store: store, metrics: metrics) { port in
            let (config, route) = try requester(port: port)
            return try await rawBulk(batches, route: route, config: config)
        }
        #expect(outcome.error == nil)
        #expect(Set(outcome.completed) == Set(batches.map(\.batchID)))
        #expect(outcome.completed.count == batches.count)
        for batch in batches {
            let results = outcome.results(of: batch.batchID)
            #expect(results.count == matsuePeople.count + 1)
            #expect(results.values.filter { $0.outcome == .match }.count == matsuePeople.count)
            #expect(results[100]?.outcome == .noMatch)
        }
        #expect(metrics.snapshot.bulkBatches == 5)
    }

    @Test func bigBatchIsSplitOverPaddedResponses() async throws {
        // A limit of 64 KiB makes 1,000 matches need several responses; with
        // the contract's 4 MiB it takes files far larger than synthetic ones.
        // The items ask about the same five people again and again (item_id
        // differs), which keeps the store small for a loaded test machine.
        let limit = 64 * 1024
        let asked = (0..<1000).map { matsuePeople[$0 % matsuePeople.count] }
        let batch = bulkBatch(asked.enumerated().map { i, p in bulkItem(UInt32(i + 1), p.resident.individualNumber.digits) })
        let config = providerConfig { $0.maxMessageBytes = limit }
        let outcome = try await withProvider(config, store: store, metrics: metrics) { port in
            let (config, route) = try requester(port: port)
            return try await rawBulk([batch], route: route, config: config)
        }
        #expect(outcome.error == nil)
        #expect(outcome.responses.count > 1)
        for (i, response) in outcome.responses.enumerated() {
            let size = try wireSize(response)
            #expect(size <= limit)
            #expect(size <= WireLimits.maxMessageBytes)
            #expect(ResponsePadding.buckets.contains(size))
            #expect(response.batchComplete == (i == outcome.responses.count - 1))
            #expect(response.batchID == batch.batchID)
        }
        let results = outcome.results(of: batch.batchID)
        #expect(results.count == 1000)
        #expect(results.values.allSatisfy { $0.outcome == .match })
        for (id, result) in results {
            #expect(result.match.resident.dateOfBirth == asked[Int(id) - 1].resident.dateOfBirth.iso)
        }
    }

    @Test func aNinthBatchInFlightIsResourceExhausted() async throws {
        // One item per second: the first batch of 1,000 leaves the
        // requester's bucket 999 items in debt, so the next batches (of one
        // item each) wait far
        // longer than the test and stay in flight. Ten are sent: if the first
        // completes before the tenth arrives, the tenth is the 9th in flight.
        let config = providerConfig { $0.bulkItemsPerSecondPerRequester = 1 }
        let batches = (0..<10).map { b in
            bulkBatch((1...(b == 0 ? 1000 : 1)).map { i in bulkItem(UInt32(i), try! unknownNumber(b * 1000 + i).digits) })
        }
        let outcome = try await withProvider(config, store: store, metrics: metrics) { port in
            let (config, route) = try requester(port: port)
            return try await rawBulk(batches, route: route, config: config)
        }
        #expect(outcome.error?.code == .resourceExhausted)
        #expect(outcome.error?.message.contains("in flight") == true)
        #expect(outcome.completed.count <= 1)
        #expect(metrics.snapshot.bulkRefusedStreams == 1)
    }

    @Test func moreThanAThousandItemsIsInvalidArgument() async throws {
        let batch = bulkBatch((1...1001).map { i in bulkItem(UInt32(i), try! unknownNumber(i).digits) })
        let outcome = try await withProvider(providerConfig(), store: store, metrics: metrics) { port in
            let (config, route) = try requester(port: port)
            return try await rawBulk([batch], route: route, config: config)
        }
        #expect(outcome.error?.code == .invalidArgument)
        #expect(outcome.error?.message.hasPrefix("items: ") == true)
        #expect(outcome.responses.isEmpty)
        #expect(metrics.snapshot.bulkBatches == 0)
    }

    @Test func anOversizedBatchFromAHostileClientIsResourceExhausted() async throws {
        // Just over the limit (and under the transport's ceiling of twice
        // it), carried in a field the contract does not define: receivers
        // keep unknown fields, so they count toward the size like any other.
        // (Bytes, not a string, so a loaded debug build spends its time on
        // the limit rather than on UTF-8 validation.)
        var bytes: [UInt8] = try bulkBatch([bulkItem(1, matsuePeople[0].resident.individualNumber.digits)]).serializedBytes()
        let filler = WireLimits.maxMessageBytes + 1024
        bytes += [0xBA, 0x06]  // field 103, length-delimited
        var n = filler
        while n >= 0x80 { bytes.append(UInt8(n & 0x7F) | 0x80); n >>= 7 }
        bytes.append(UInt8(n))
        bytes += [UInt8](repeating: 0, count: filler)
        let batch = try Renkei_V1_BulkInquiryRequest(serializedBytes: bytes)
        #expect(try wireSize(batch) > WireLimits.maxMessageBytes)
        let outcome = try await withProvider(providerConfig(), store: store, metrics: metrics) { port in
            let (config, route) = try requester(port: port)
            return try await rawBulk([batch], route: route, config: config)
        }
        #expect(outcome.error?.code == .resourceExhausted, "\(String(describing: outcome.error))")
        #expect(outcome.error?.message.hasPrefix("BulkInquiryRequest: ") == true)
        #expect(outcome.responses.isEmpty)
        #expect(metrics.snapshot.lookups == 0)
    }

    @Test func aRequesterCodeNotInTheCertificateIsPermissionDenied() async throws {
        let batch = bulkBatch([bulkItem(1, matsuePeople[0].resident.individualNumber.digits)], requester: hamada)
        let outcome = try await withProvider(providerConfig(), store: store, metrics: metrics) { port in
            let (config, route) = try requester(port: port)
            return try await rawBulk([batch], route: route, config: config)
        }
        #expect(outcome.error?.code == .permissionDenied)
        #expect(outcome.error?.message.hasPrefix("requester_code: ") == true)
        #expect(outcome.responses.isEmpty)
        #expect(metrics.snapshot.lookups == 0)
        #expect(metrics.snapshot.denied == 1)
    }

    @Test func streamsOverThePerRequesterLimitAreRefusedWhileOthersAreServed() async throws {
        let config = providerConfig { $0.bulkStreamsPerRequester = 1 }
        let number = matsuePeople[0].resident.individualNumber
        try await withProvider(config, store: store, metrics: metrics) { port in
            let (izumoConfig, route) = try requester(port: port)
            let hold = Gate()
            let answered = Gate()
            try await withThrowingTaskGroup(of: BulkOutcome.self) { group in
                // Stream A: one batch answered, then held open.
                group.addTask {
                    try await rawBulk([bulkBatch([bulkItem(1, number.digits)])], route: route, config: izumoConfig, hold: hold,
                                      onResponse: { if $0.batchComplete { answered.open() } })
                }
                await answered.wait()
                // Stream B of the same requester: refused at once.
                let refused = try await rawBulk([bulkBatch([bulkItem(1, number.digits)])], route: route, config: izumoConfig)
                #expect(refused.error?.code == .resourceExhausted)
                #expect(refused.error?.message.contains("bulkStreamsPerRequester") == true)
                #expect(refused.responses.isEmpty)
                // Another municipality's single inquiry is still answered.
                let yasugiConfig = fed.config("yasugi-node", directory: try directory(port: port))
                let single = try await TransferInquiryClient.inquire(
                    TransferInquiry(requester: yasugi, target: matsue, number: number, consentReference: "consent-1"), config: yasugiConfig)
                #expect(single.outcome == .match)
                hold.open()
                let first = try await group.next()!
                #expect(first.error == nil)
                #expect(first.results(of: first.completed.first ?? "").values.first?.outcome == .match)
            }
            // Once stream A is closed, the requester may open another.
            let again = try await rawBulk([bulkBatch([bulkItem(1, number.digits)])], route: route, config: izumoConfig)
            #expect(again.error == nil)
            #expect(again.completed.count == 1)
        }
        #expect(metrics.snapshot.bulkRefusedStreams == 1)
    }

    @Test func eachBatchIsAuditedPerTargetWithCountsAndNoNumber() async throws {
        let matsueNumbers = matsuePeople.map(\.resident.individualNumber.digits)
        let hamadaNumber = hamadaPeople[0].resident.individualNumber.digits
        let unknown = try unknownNumber(7).digits
        let batch = bulkBatch([
            bulkItem(1, matsueNumbers[0]), bulkItem(2, matsueNumbers[1]), bulkItem(3, unknown),
            bulkItem(4, "123456789012"), bulkItem(5, hamadaNumber, target: hamada), bulkItem(6, hamadaNumber, target: yasugi),
        ])
        let outcome = try await withProvider(providerConfig(), store: store, metrics: metrics) { port in
            let (config, route) = try requester(port: port)
            return try await rawBulk([batch], route: route, config: config)
        }
        #expect(outcome.error == nil)
        let matsueLog = try String(contentsOfFile: try store.auditLog(matsue).path, encoding: .utf8)
        let hamadaLog = try String(contentsOfFile: try store.auditLog(hamada).path, encoding: .utf8)
        let matsueLines = matsueLog.split(separator: "\n").filter { $0.contains("bulk-answered") }
        let hamadaLines = hamadaLog.split(separator: "\n").filter { $0.contains("bulk-answered") }
        #expect(matsueLines.count == 1)
        #expect(hamadaLines.count == 1)
        #expect(matsueLines.first?.contains("items 4; match 2; no-match 1; invalid 1") == true)
        #expect(matsueLines.first?.contains(batch.batchID) == true)
        #expect(matsueLines.first?.contains("\"match\"") == true)
        #expect(hamadaLines.first?.contains("items 1; match 1; no-match 0; invalid 0") == true)
        for log in [matsueLog, hamadaLog] {
            for number in matsueNumbers + [hamadaNumber, unknown, "123456789012"] {
                #expect(!log.contains(number))
            }
        }
    }
}
