import Foundation
import GRPCCore
import Logging
import RenkeiAudit
import RenkeiCore
import RenkeiPKI
import RenkeiSynth
import RenkeiTenantStore
import RenkeiWire
import Testing
@testable import RenkeiPeer

/// Bulk transfer-in against a real provider (InquireBulk in
/// TransferInquiryService). NEEDS THE PROVIDER SIDE: run after merging the
/// provider branch; on the requester branch alone InquireBulk is
/// UNIMPLEMENTED and these fail.
@Suite(.serialized) struct BulkProviderTests {
    let fed: Federation
    let sharedCertificate: IssuedCertificate
    let izumoCertificate: IssuedCertificate
    let shared: NodeStore
    let izumoStore: NodeStore
    let requester: NodeStore
    let requesterData: String
    let metrics = PeerMetrics()

    init() throws {
        fed = try Federation()
        sharedCertificate = try fed.issue("hamada-yasugi", codes: [hamada, yasugi])
        izumoCertificate = try fed.issue("izumo", codes: [izumo])
        try fed.issue("matsue", codes: [matsue])
        shared = try fed.makeStore("hamada-yasugi", hosting: [hamada, yasugi], residents: 30)
        izumoStore = try fed.makeStore("izumo", hosting: [izumo], residents: 30)
        requester = try fed.makeStore("matsue", hosting: [matsue], residents: 2)
        requesterData = fed.dir.file("nodes/matsue")
    }

    @Test func matchesAreStoredAuditedPerBatchAndMissesAreNoMatch() async throws {
        let hamadaPeople = people(hamada, count: 30, seed: UInt64(hamada.rawValue)!)
        let yasugiPeople = people(yasugi, count: 30, seed: UInt64(yasugi.rawValue)!)
        let izumoPeople = people(izumo, count: 30, seed: UInt64(izumo.rawValue)!)
        try await withProvider(fed.config("hamada-yasugi"), store: shared, metrics: metrics) { sharedPort in
            try await withProvider(fed.config("izumo"), store: izumoStore, metrics: metrics) { izumoPort in
                let directory = try fed.signDirectory([hamada: (sharedPort, sharedCertificate), yasugi: (sharedPort, sharedCertificate),
                                                       izumo: (izumoPort, izumoCertificate)])
                let config = fed.config("matsue", data: requesterData, directory: directory)
                let trust = try TrustSource(config: config, logger: fed.logger)
                var rows: [BulkRow] = []
                var expected: [Int: (BulkRowOutcome, Int)] = [:]
                func add(_ code: MunicipalityCode, _ number: String, _ outcome: BulkRowOutcome, doses: Int = 0, kana: String? = nil) {
                    rows.append(BulkRow(index: rows.count + 1, targetCode: code.rawValue, individualNumber: number, nameKanaHint: kana))
                    expected[rows.count] = (outcome, doses)
                }
                for p in hamadaPeople.prefix(12) { add(hamada, p.resident.individualNumber.digits, .match, doses: p.vaccinations.count) }
                for p in yasugiPeople.prefix(5) { add(yasugi, p.resident.individualNumber.digits, .match, doses: p.vaccinations.count, kana: p.resident.nameKana) }
                for p in izumoPeople.prefix(6) { add(izumo, p.resident.individualNumber.digits, .match, doses: p.vaccinations.count) }
                add(yasugi, hamadaPeople[20].resident.individualNumber.digits, .noMatch)  // misaddressed
                add(izumo, yasugiPeople[20].resident.individualNumber.digits, .noMatch)
                add(hamada, hamadaPeople[21].resident.individualNumber.digits, .noMatch, kana: "チガウ ナマエ")  // hint disagrees
                let seen = BulkRequesterTests.Seen()
                let summary = try await BulkTransferIn(store: requester, config: config, trust: trust, logger: fed.logger)
                    .run(rows, requester: matsue, options: BulkTransferInOptions(client: BulkInquiryOptions(batchSize: 4))) { s throws(PeerError) in
                        seen.results.withLock { $0.append(contentsOf: s.results) }
                    }
                let results = seen.results.withLock { $0 }.sorted { $0.index < $1.index }
                #expect(results.map(\.index) == Array(1...rows.count))
                for r in results {
                    #expect(r.outcome == expected[r.index]!.0, "row \(r.index): \(r.reason)")
                    #expect(r.doses == expected[r.index]!.1, "row \(r.index)")
                }
                // Hamada+Yasugi (18 items) and Izumo (8 items) in batches of 4.
                #expect(summary.batches == 5 + 2)
                #expect(summary.latencies.count == summary.batches)
                let tenant = try requester.tenant(matsue)
                #expect(try tenant.counts().receivedFiles == 23)
                #expect(try tenant.receivedFiles(number: izumoPeople[0].resident.individualNumber).first?.source == izumo)
                let audit = try String(contentsOfFile: NodeDirectory(requesterData).root + "/audit/322016.log", encoding: .utf8)
                #expect(audit.components(separatedBy: "\"bulk-sent\"").count - 1 == summary.batches)
                for row in rows { #expect(!audit.contains(row.individualNumber!)) }
            }
        }
    }
}
