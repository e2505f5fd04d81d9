#if canImport(Glibc)
import Glibc
#endif
import Foundation
import RenkeiAccess
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

/// The requester side of bulk inquiry without a provider: validation,
/// grouping, the journal, result order, the contract checks on responses,
/// the batched store, retries against a closed port, and the admin path.
@Suite struct BulkRequesterTests {
    static let entryA = DirectoryEntry(nodeName: "shared", host: "127.0.0.1", port: 1, spkiSHA256: String(repeating: "a", count: 64))
    static let entryB = DirectoryEntry(nodeName: "izumo", host: "127.0.0.1", port: 2, spkiSHA256: String(repeating: "b", count: 64))
    static let valid = people(izumo, count: 3, seed: 322032).map(\.resident.individualNumber.digits)

    /// The same number with its check digit off by one.
    static func badCheckDigit(_ digits: String) -> String {
        let last = Int(String(digits.last!))!
        return String(digits.dropLast()) + String((last + 1) % 10)
    }

    // MARK: Validation

    @Test func badRowsAreInvalidNamingTheColumnNeverTheValue() {
        let number = Self.valid[0]
        let cases: [(BulkRow, String)] = [
            (BulkRow(index: 1, targetCode: "322032", individualNumber: Self.badCheckDigit(number)), "個人番号: "),
            (BulkRow(index: 2, targetCode: "322033", individualNumber: number), "前住所地市区町村コード: "),
            (BulkRow(index: 3, targetCode: nil, individualNumber: number), "前住所地市区町村コード: is required"),
            (BulkRow(index: 4, targetCode: "322032", individualNumber: nil), "個人番号: is required"),
            (BulkRow(index: 5, targetCode: "322032", individualNumber: "12345"), "個人番号: "),
            (BulkRow(index: 6, targetCode: "322032", individualNumber: number, dateOfBirthHint: "1990-02-30"), "生年月日: "),
        ]
        for (row, prefix) in cases {
            guard case .failure(let broken) = BulkRowRules.validate(row) else {
                Issue.record("row \(row.index) passed validation")
                continue
            }
            #expect(broken.message.hasPrefix(prefix), "row \(row.index): \(broken.message)")
            #expect(!broken.message.contains(number) && !broken.message.contains(Self.badCheckDigit(number)))
        }
        let ok = BulkRowRules.validate(BulkRow(index: 7, targetCode: "322032", individualNumber: number,
                                               nameKanaHint: "ヤマダ タロウ", dateOfBirthHint: "1990-02-03"))
        #expect((try? ok.get())?.dateOfBirthHint == "1990-02-03")
        #expect((try? ok.get())?.nameKanaHint == "ヤマダ タロウ")
        #expect((try? ok.get())?.target == izumo)
    }

    // MARK: Grouping

    @Test func rowsAreGroupedByProviderNodeWithEveryCodeItHosts() {
        let rows = [
            BulkRow(index: 1, targetCode: "322016", individualNumber: Self.valid[0]),
            BulkRow(index: 2, targetCode: "322032", individualNumber: Self.valid[1]),
            BulkRow(index: 3, targetCode: "322024", individualNumber: Self.valid[2]),
            BulkRow(index: 4, targetCode: "322032", individualNumber: Self.badCheckDigit(Self.valid[0])),
            BulkRow(index: 5, targetCode: "131016", individualNumber: Self.valid[0]),
            BulkRow(index: 6, targetCode: "322016", individualNumber: Self.valid[1]),
        ]
        let table: [MunicipalityCode: DirectoryEntry] = [matsue: Self.entryA, hamada: Self.entryA, izumo: Self.entryB]
        var lookups = 0
        let plan = BulkRequestPlan.make(rows) { code in
            lookups += 1
            return table[code]
        }
        #expect(lookups == 4, "one directory lookup per distinct code")
        #expect(plan.groups.count == 2)
        #expect(plan.groups[0].entry == Self.entryA)
        #expect(plan.groups[0].targets == [matsue, hamada].sorted { $0.rawValue < $1.rawValue })
        #expect(plan.groups[0].items.map(\.index) == [1, 3, 6])
        #expect(plan.groups[1].entry == Self.entryB)
        #expect(plan.groups[1].items.map(\.index) == [2])
        #expect(plan.settled.map(\.index) == [4, 5])
        #expect(plan.settled[0].outcome == .invalid && plan.settled[0].reason.hasPrefix("個人番号: "))
        #expect(plan.settled[1].outcome == .unreachable && plan.settled[1].reason.contains("131016"))
    }

    // MARK: Journal

    @Test func journalRoundTripsAndIgnoresATornLastLine() throws {
        let binding = String(repeating: "c", count: 64)
        let results = [
            BulkRowResult(index: 3, outcome: .match, doses: 4),
            BulkRowResult(index: 1, outcome: .invalid, reason: "個人番号: check\tdigit\nwrong"),
            BulkRowResult(index: 2, outcome: .noMatch),
        ]
        let text = BulkJournal.header(binding: binding) + results.map(BulkJournal.line).joined() + "4\tMAT"
        let parsed = try BulkJournal.parse(text, binding: binding, path: "r.csv.journal")
        #expect(parsed.count == 3)
        #expect(parsed[3] == results[0])
        #expect(parsed[1]?.reason == "個人番号: check digit wrong")
        #expect(parsed[4] == nil)
        #expect(!BulkJournal.journaled(BulkRowResult(index: 9, outcome: .unreachable, reason: "node x: down")))
    }

    @Test func journalOfAnotherInputIsRefusedNamingIt() throws {
        let dir = try TempDir()
        let path = dir.file("results.csv.journal")
        let input = Array("前住所地市区町村コード,個人番号\n322032,\(Self.valid[0])\n".utf8)
        let binding = BulkJournal.binding(input: input, requester: matsue, purpose: "transfer-in", consentReference: "c-1")
        let (file, existing) = try BulkJournalFile.open(path: path, binding: binding)
        #expect(existing.isEmpty)
        try file.append([BulkRowResult(index: 1, outcome: .match, doses: 2), BulkRowResult(index: 2, outcome: .unreachable, reason: "x")])
        var mode = stat()
        #expect(stat(path, &mode) == 0 && mode.st_mode & 0o777 == 0o600)
        let stored = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!stored.contains(Self.valid[0]))

        // The same input resumes: the journaled row only (UNREACHABLE is asked again).
        let (_, resumed) = try BulkJournalFile.open(path: path, binding: binding)
        #expect(resumed == [1: BulkRowResult(index: 1, outcome: .match, doses: 2)])

        // A changed input, or other options, is refused with the journal's path.
        for other in [
            BulkJournal.binding(input: input + Array("322032,\(Self.valid[1])\n".utf8), requester: matsue, purpose: "transfer-in", consentReference: "c-1"),
            BulkJournal.binding(input: input, requester: matsue, purpose: "transfer-in", consentReference: "c-2"),
            BulkJournal.binding(input: input, requester: hamada, purpose: "transfer-in", consentReference: "c-1"),
        ] {
            #expect(other != binding)
            do {
                _ = try BulkJournalFile.open(path: path, binding: other)
                Issue.record("a journal of another input was accepted")
            } catch {
                #expect(error.code == .mismatch)
                #expect(error.message.contains(path))
            }
        }
    }

    @Test func reopeningCutsATornLineSoLaterAppendsParse() throws {
        let dir = try TempDir()
        let path = dir.file("r.journal")
        let binding = String(repeating: "d", count: 64)
        let (file, _) = try BulkJournalFile.open(path: path, binding: binding)
        try file.append([BulkRowResult(index: 1, outcome: .noMatch)])
        let handle = try #require(FileHandle(forWritingAtPath: path))
        handle.seekToEndOfFile()
        handle.write(Data("2\tMA".utf8))  // a crash in the middle of a write
        try handle.close()
        let (again, before) = try BulkJournalFile.open(path: path, binding: binding)
        #expect(before.keys.sorted() == [1])
        try again.append([BulkRowResult(index: 2, outcome: .match, doses: 1)])
        let (_, after) = try BulkJournalFile.open(path: path, binding: binding)
        #expect(after.keys.sorted() == [1, 2])
        #expect(after[2]?.doses == 1)
    }

    @Test func resultsComeOutInInputOrderAndAGapIsReported() {
        let results: [Int: BulkRowResult] = [2: .init(index: 2, outcome: .noMatch), 1: .init(index: 1, outcome: .invalid, reason: "r"),
                                             3: .init(index: 3, outcome: .match, doses: 2)]
        #expect((try? BulkResultOrder.ordered(results, indices: [3, 1, 2]).get())?.map(\.index) == [1, 2, 3])
        #expect(BulkResultOrder.ordered(results, indices: [1, 2, 3, 4]) == .failure(BulkMissingResult(index: 4)))
    }

    // MARK: Response checks

    func item(_ i: Int) throws -> BulkInquiryItem {
        BulkInquiryItem(index: i, target: izumo, number: try IndividualNumber(Self.valid[i % 3]))
    }

    func result(_ id: UInt32, _ outcome: Renkei_V1_BulkOutcome) -> Renkei_V1_BulkResult {
        var r = Renkei_V1_BulkResult()
        r.itemID = id
        r.outcome = outcome
        if outcome == .match { r.match = Renkei_V1_VaccinationFile() }
        return r
    }

    func response(_ batch: String, _ results: [Renkei_V1_BulkResult], complete: Bool) -> Renkei_V1_BulkInquiryResponse {
        var r = Renkei_V1_BulkInquiryResponse()
        r.batchID = batch
        r.results = results
        r.batchComplete = complete
        return r
    }

    @Test func trackerCompletesSplitBatchesAndRefusesContractBreaks() throws {
        var tracker = BulkBatchTracker()
        let start = ContinuousClock.now
        let request = tracker.send([try item(10), try item(11), try item(12)], batchID: "b1", requester: matsue,
                                   options: BulkInquiryOptions(consentReference: "c-9"), now: start)
        #expect(request.items.map(\.itemID) == [1, 2, 3])
        #expect(request.items.allSatisfy { $0.consentReference == "c-9" && $0.targetCode == "322032" })
        #expect(tracker.outstanding == 1)
        #expect(try tracker.receive(response("b1", [result(2, .noMatch)], complete: false), now: start) == nil)
        let done = try #require(try tracker.receive(response("b1", [result(3, .invalid), result(1, .match)], complete: true),
                                                    now: start + .milliseconds(40)))
        #expect(done.answers.map(\.item.index) == [10, 11, 12])
        #expect(done.answers.map(\.result.outcome) == [.match, .noMatch, .invalid])
        #expect(done.latency == .milliseconds(40))
        #expect(tracker.outstanding == 0)

        func refused(_ body: (inout BulkBatchTracker) throws(PeerError) -> Void) -> PeerError? {
            var t = BulkBatchTracker()
            _ = t.send([try! item(1), try! item(2)], batchID: "b", requester: matsue, options: BulkInquiryOptions(), now: start)
            do throws(PeerError) { try body(&t) } catch { return error }
            return nil
        }
        let cases: [(String, PeerError?)] = [
            ("twice", refused { t throws(PeerError) in _ = try t.receive(response("b", [result(1, .noMatch), result(1, .noMatch)], complete: false), now: start) }),
            ("unknown batch", refused { t throws(PeerError) in _ = try t.receive(response("zz", [result(1, .noMatch)], complete: true), now: start) }),
            ("beyond the batch", refused { t throws(PeerError) in _ = try t.receive(response("b", [result(3, .noMatch)], complete: false), now: start) }),
            ("unspecified", refused { t throws(PeerError) in _ = try t.receive(response("b", [result(1, .unspecified)], complete: false), now: start) }),
            ("incomplete", refused { t throws(PeerError) in _ = try t.receive(response("b", [result(1, .noMatch)], complete: true), now: start) }),
            ("match without file", refused { t throws(PeerError) in
                var r = result(1, .match)
                r.clearMatch()
                _ = try t.receive(response("b", [r], complete: false), now: start)
            }),
            ("after completion", refused { t throws(PeerError) in
                _ = try t.receive(response("b", [result(1, .noMatch), result(2, .noMatch)], complete: true), now: start)
                _ = try t.receive(response("b", [], complete: true), now: start)
            }),
        ]
        for (name, error) in cases {
            #expect(error?.code == .protocolViolation, "\(name)")
        }
    }

    // MARK: Batched store

    @Test func storeReceivedFilesWritesOnceWithMovedInSemantics() throws {
        let fed = try Federation()
        let provider = try fed.makeStore("izumo", hosting: [izumo], residents: 3)
        let store = try fed.makeStore("matsue", hosting: [matsue], residents: 1)
        let izumoPeople = people(izumo, count: 3, seed: 322032)
        let moved = izumoPeople[0].resident
        _ = try store.tenant(matsue).upsertResidents([try Resident(
            addressNumber: try AddressNumber("9999999901"), individualNumber: moved.individualNumber, name: moved.name,
            nameKana: moved.nameKana, dateOfBirth: moved.dateOfBirth, sex: moved.sex, address: "島根県松江市末次町86")])
        func received(_ person: GeneratedPerson, request: String) throws -> ReceivedFile {
            let file = try #require(try provider.tenant(izumo).residentFile(number: person.resident.individualNumber))
            return try RecordMapping.receivedFile(RecordMapping.vaccinationFile(file), source: izumo, requestID: request,
                                                  number: person.resident.individualNumber, receivedOn: try LocalDate(parsing: "2026-11-28"))
        }
        let tenant = try store.tenant(matsue)
        let before = try tenant.counts().receivedFiles
        let a = try received(izumoPeople[0], request: "11111111-1111-4111-8111-111111111111")
        let b = try received(izumoPeople[1], request: "11111111-1111-4111-8111-111111111111")
        let outcomes = try tenant.storeReceivedFiles([a, b, a]).map { try $0.get() }
        #expect(outcomes.map(\.storage) == [.stored, .stored, .unchanged])
        #expect(outcomes.map(\.residentRegistered) == [true, false, true])
        #expect(outcomes.map(\.movedInSet) == [true, false, false])
        #expect(try tenant.counts().receivedFiles == before + 2)
        #expect(try tenant.receivedFiles(number: moved.individualNumber) == [a])
        #expect(try tenant.residentFile(number: moved.individualNumber)?.resident.movedIn == MoveEvent(date: a.receivedOn, otherMunicipality: izumo))

        // Storing again (a resumed run): same state, nothing new counted.
        let a2 = try received(izumoPeople[0], request: "22222222-2222-4222-8222-222222222222")
        let again = try tenant.storeReceivedFiles([a2, b]).map { try $0.get() }
        #expect(again.map(\.storage) == [.replaced, .unchanged])
        #expect(try tenant.counts().receivedFiles == before + 2)
        #expect(try tenant.storeReceivedFiles([]).isEmpty)
    }

    // MARK: Against an unreachable provider

    /// A loopback port nothing listens on (bound, then closed).
    static func closedPort() throws -> Int {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, length) == 0 && getsockname(s, $0, &length) == 0 }
        }
        #expect(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Settlements as the sink saw them.
    final class Seen: Sendable {
        let results = Locked<[BulkRowResult]>([])
        let calls = Locked<Int>(0)
    }

    @Test func unreachableProviderIsRetriedThenItsRowsAreUnreachableAndTheRestSettle() async throws {
        let fed = try Fed()
        let port = try Self.closedPort()
        let directory = try fed.fed.signDirectory([izumo: (port, fed.izumoCertificate)])
        let config = fed.fed.config("matsue", data: fed.requesterData, directory: directory, callTimeout: 2)
        let trust = try TrustSource(config: config, logger: fed.fed.logger)
        let bulk = BulkTransferIn(store: fed.requester, config: config, trust: trust, logger: fed.fed.logger)
        let rows = [
            BulkRow(index: 1, targetCode: "322032", individualNumber: Self.valid[0]),
            BulkRow(index: 2, targetCode: "322032", individualNumber: Self.badCheckDigit(Self.valid[1])),
            BulkRow(index: 3, targetCode: "322024", individualNumber: Self.valid[1]),
            BulkRow(index: 4, targetCode: "322032", individualNumber: Self.valid[2]),
        ]
        let seen = Seen()
        let options = BulkTransferInOptions(client: BulkInquiryOptions(batchSize: 1), attempts: 3, retryBase: .milliseconds(10))
        #expect(options.backoff(beforeAttempt: 2) == .milliseconds(10))
        #expect(options.backoff(beforeAttempt: 4) == .milliseconds(40))
        let summary = try await bulk.run(rows, requester: matsue, options: options) { settlement throws(PeerError) in
            seen.results.withLock { $0.append(contentsOf: settlement.results) }
            seen.calls.withLock { $0 += 1 }
        }
        let results = seen.results.withLock { $0 }.sorted { $0.index < $1.index }
        #expect(results.map(\.index) == [1, 2, 3, 4], "every row settled exactly once")
        #expect(results.map(\.outcome) == [.unreachable, .invalid, .unreachable, .unreachable])
        #expect(results[0].reason == "node izumo: unreachable after 3 attempt(s)")
        #expect(results[1].reason.hasPrefix("個人番号: "))
        #expect(results[2].reason.contains("lists no node for municipality 322024"))
        #expect(summary.batches == 0)
        #expect(seen.calls.withLock { $0 } == 2, "the local settlement and the provider's given-up rows")
        for r in results { #expect(!Self.valid.contains { r.reason.contains($0) }) }
        // Nothing was answered, so nothing was stored and no batch audited.
        let audit = (try? String(contentsOfFile: NodeDirectory(fed.requesterData).root + "/audit/322016.log", encoding: .utf8)) ?? ""
        #expect(!audit.contains("bulk-sent"))
    }

    /// A node asked for two codes whose certificate carries only one: the
    /// handshake fails (nothing sent), no retry, both codes' rows UNREACHABLE.
    @Test func providerCertificateMustCarryEveryCodeAskedOfIt() async throws {
        let fed = try Fed()
        let izumoStore = try fed.fed.makeStore("izumo", hosting: [izumo], residents: 2)
        let seen = Seen()
        try await withProvider(fed.fed.config("izumo"), store: izumoStore, metrics: PeerMetrics()) { port in
            let directory = try fed.fed.signDirectory([izumo: (port, fed.izumoCertificate), yasugi: (port, fed.izumoCertificate)])
            let config = fed.fed.config("matsue", data: fed.requesterData, directory: directory)
            let bulk = BulkTransferIn(store: fed.requester, config: config, trust: try TrustSource(config: config, logger: fed.fed.logger),
                                      logger: fed.fed.logger)
            let rows = [BulkRow(index: 1, targetCode: "322032", individualNumber: Self.valid[0]),
                        BulkRow(index: 2, targetCode: "322067", individualNumber: Self.valid[1])]
            _ = try await bulk.run(rows, requester: matsue, options: BulkTransferInOptions(attempts: 3, retryBase: .seconds(30))) { s throws(PeerError) in
                seen.results.withLock { $0.append(contentsOf: s.results) }
            }
        }
        let results = seen.results.withLock { $0 }.sorted { $0.index < $1.index }
        #expect(results.map(\.outcome) == [.unreachable, .unreachable])
        // Not retried: a 30 s backoff would have kept the test waiting.
        #expect(results.allSatisfy { $0.reason == "node izumo: its certificate does not match the directory or carry the codes (nothing sent)" })
    }

    @Test func requesterNotHostedIsRefusedBeforeAnything() async throws {
        let fed = try Fed()
        let directory = try fed.fed.signDirectory([izumo: (1, fed.izumoCertificate)])
        let config = fed.fed.config("matsue", data: fed.requesterData, directory: directory)
        let bulk = BulkTransferIn(store: fed.requester, config: config, trust: try TrustSource(config: config, logger: fed.fed.logger),
                                  logger: fed.fed.logger)
        let error = await peerError {
            _ = try await bulk.run([BulkRow(index: 1, targetCode: "322032", individualNumber: Self.valid[0])], requester: yasugi) { _ throws(PeerError) in }
        }
        #expect(error?.code == .invalidInput)
    }

    /// A requester node (Matsue) and an Izumo certificate, no provider running.
    struct Fed {
        let fed: Federation
        let izumoCertificate: IssuedCertificate
        let requester: NodeStore
        let requesterData: String
        init() throws {
            fed = try Federation()
            izumoCertificate = try fed.issue("izumo", codes: [izumo])
            try fed.issue("matsue", codes: [matsue])
            requester = try fed.makeStore("matsue", hosting: [matsue], residents: 2)
            requesterData = fed.dir.file("nodes/matsue")
        }
    }

    // MARK: Admin path

    @Test func adminBulkSettlesEveryRowAndRefusesBadCalls() async throws {
        let fed = try Fed()
        let port = try Self.closedPort()
        let directory = try fed.fed.signDirectory([izumo: (port, fed.izumoCertificate)])
        var config = fed.fed.config("matsue", data: fed.requesterData, directory: directory)
        config.adminSocketPath = fed.fed.dir.file("admin.sock")
        let trust = try TrustSource(config: config, logger: fed.fed.logger)
        let access = try AccessFixture(store: fed.requester, directory: fed.fed.dir.file("access"), logger: fed.fed.logger)
        let token = try access.session(matsue, [.inquirer])
        let admin = try AdminServer.make(config: config, store: fed.requester, gate: access.gate, trust: trust, logger: fed.fed.logger)
        let socket = config.adminSocket
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await admin.serve() }
            defer { admin.beginGracefulShutdown() }
            _ = try await admin.listeningAddress

            func call(_ messages: [Renkei_Admin_V1_AdminBulkRows]) async throws(PeerError) -> [Renkei_Admin_V1_AdminBulkProgress] {
                try await AdminClient.withAdmin(socket: socket) { client in
                    try await client.inquireBulk(requestProducer: { try await $0.write(contentsOf: messages) }) { response in
                        var all: [Renkei_Admin_V1_AdminBulkProgress] = []
                        for try await p in response.messages { all.append(p) }
                        return all
                    }
                }
            }
            func rows(_ acting: String, _ list: [(UInt32, String, String)], attempts: UInt32 = 2) -> Renkei_Admin_V1_AdminBulkRows {
                var m = Renkei_Admin_V1_AdminBulkRows()
                m.actingCode = acting
                m.session = token
                m.attempts = attempts
                m.rows = list.map { index, code, number in
                    var r = Renkei_Admin_V1_AdminBulkRow()
                    r.index = index
                    r.targetCode = code
                    r.individualNumber = number
                    return r
                }
                return m
            }
            var second = rows("", [(3, "322032", Self.valid[1])])
            second.actingCode = ""
            let progress = try await call([
                rows("322016", [(1, "322032", Self.badCheckDigit(Self.valid[0])), (2, "322024", Self.valid[0])]), second,
            ])
            let results = progress.flatMap(\.results).sorted { $0.index < $1.index }
            #expect(results.map(\.index) == [1, 2, 3])
            #expect(results.map(\.outcome) == [.invalid, .unreachable, .unreachable])
            #expect(results[0].reason.hasPrefix("個人番号: "))
            #expect(results[2].reason == "node izumo: unreachable after 2 attempt(s)")
            #expect(progress.last?.rowsDone == 3 && progress.last?.rowsTotal == 3)

            let notHosted = await peerError { _ = try await call([rows("322032", [(1, "322032", Self.valid[0])])]) }
            #expect(rpcCode(notHosted!) == .permissionDenied)
            let repeated = await peerError { _ = try await call([rows("322016", [(1, "322032", Self.valid[0]), (1, "322032", Self.valid[1])])]) }
            #expect(notHosted != nil && repeated?.code == .invalidInput)
            #expect(repeated.map { !$0.message.contains(Self.valid[0]) } == true)
            let tooMany = await peerError { _ = try await call([rows("322016", (1...201).map { (UInt32($0), "322032", Self.valid[0]) })]) }
            #expect(tooMany?.code == .invalidInput)

            admin.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }
}
