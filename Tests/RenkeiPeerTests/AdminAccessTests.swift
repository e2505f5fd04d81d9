import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import Logging
import RenkeiAccess
import RenkeiAudit
import RenkeiCore
import RenkeiCrypto
import RenkeiPKI
import RenkeiSynth
import RenkeiTenantStore
import RenkeiWire
import Testing
@testable import RenkeiPeer

/// Issue 6 on a running admin socket (real RocksDB, real audit files, real
/// gRPC over a unix socket): every role tries every admin call, sessions end,
/// logins are limited, and the operation log names who did what without
/// personal data.
@Suite struct AdminAccessTests {
    let fed: Federation
    let store: NodeStore
    let data: String
    let access: AccessFixture
    let matsuePeople = people(matsue, count: 4, seed: 322016)
    let hamadaPeople = people(hamada, count: 2, seed: 322024)

    init() throws {
        fed = try Federation()
        try fed.issue("shared", codes: [matsue, hamada])
        store = try fed.makeStore("shared", hosting: [matsue, hamada], residents: 0)
        data = fed.dir.file("nodes/shared")
        _ = try store.tenant(matsue).upsertResidents(matsuePeople.map(\.resident))
        _ = try store.tenant(matsue).upsertVaccinations(matsuePeople.flatMap(\.vaccinations))
        _ = try store.tenant(hamada).upsertResidents(hamadaPeople.map(\.resident))
        access = try AccessFixture(store: store, directory: data + "/access", logger: fed.logger)
    }

    /// Serves the admin socket (no vault; Izumo in the directory on a closed port) while `body` runs.
    func withAdmin(_ body: @Sendable (_ socket: String) async throws -> Void) async throws {
        let izumoCertificate = try fed.issue("izumo", codes: [izumo])
        let directory = try fed.signDirectory([izumo: (BulkRequesterTests.closedPort(), izumoCertificate)])
        var config = fed.config("shared", data: data, directory: directory)
        config.adminSocketPath = fed.dir.file("admin.sock")
        let trust = try TrustSource(config: config, logger: fed.logger)
        let admin = try AdminServer.make(config: config, store: store, gate: access.gate, trust: trust, logger: fed.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await admin.serve() }
            defer { admin.beginGracefulShutdown() }
            _ = try await admin.listeningAddress
            try await body(config.adminSocket)
            admin.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    /// The gRPC status of a failed admin call, nil if it succeeded.
    static func status(_ body: () async throws -> Void) async -> RPCError.Code? {
        do {
            try await body()
            return nil
        } catch let error as PeerError {
            return (error.cause as? RPCError)?.code ?? .unknown
        } catch let error as RPCError {
            return error.code
        } catch {
            return .unknown
        }
    }

    typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

    static func on<T: Sendable>(_ socket: String, _ body: @Sendable @escaping (Client) async throws -> T) async throws -> T {
        try await AdminClient.withConnection(socket: socket, body)
    }

    func residentsCSV(_ people: [GeneratedPerson]) -> Data {
        func quoted(_ s: String) -> String { "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        var lines = [ResidentCSVFormat.columns.map(quoted).joined(separator: ",")]
        for p in people { lines.append(ResidentCSVFormat.fields(of: p.resident).map(quoted).joined(separator: ",")) }
        return Data((lines.joined(separator: "\r\n") + "\r\n").utf8)
    }

    /// Every admin call the permission matrix covers, as `token` acting as `acting`.
    func calls(socket: String, token: String, acting: MunicipalityCode) -> [(RenkeiAccess.Operation, @Sendable () async throws -> Void)] {
        let code = acting.rawValue
        let number = matsuePeople[0].resident.individualNumber.digits
        let csv = residentsCSV(Array(matsuePeople.prefix(1)))
        let unknownNumber = matsuePeople[3].resident.individualNumber.digits
        let foreignNumber = hamadaPeople[1].resident.individualNumber.digits
        return [
            (.importRecords, {
                _ = try await Self.on(socket) { c in
                    try await Renkei_Admin_V1_Records.Client(wrapping: c).importRecords(requestProducer: { w in
                        var m = Renkei_Admin_V1_ImportChunk()
                        m.session = token; m.actingCode = code; m.kind = "residents"; m.fileName = "residents.csv"; m.data = csv
                        try await w.write(m)
                    })
                }
            }),
            (.exportRecords, {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_ExportRequest(); r.session = token; r.actingCode = code
                    return try await Renkei_Admin_V1_Records.Client(wrapping: c).exportVaccinations(r) { response in
                        var n = 0
                        for try await chunk in response.messages { n += chunk.data.count }
                        return n
                    }
                }
            }),
            (.viewResident, {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_ResidentShowRequest(); r.session = token; r.actingCode = code; r.individualNumber = number
                    return try await Renkei_Admin_V1_Records.Client(wrapping: c).residentShow(r)
                }
            }),
            (.markMovedOut, {
                _ = try await AdminClient.withAdmin(socket: socket) { a in
                    var r = Renkei_Admin_V1_MarkMovedOutRequest(); r.session = token; r.actingCode = code
                    r.individualNumber = unknownNumber; r.toCode = izumo.rawValue; r.movedOutOn = "2026-11-01"
                    return try await a.markMovedOut(r)
                }
            }),
            (.inquireTransfer, {
                _ = try await AdminClient.withAdmin(socket: socket) { a in
                    var r = Renkei_Admin_V1_InquireTransferRequest(); r.session = token; r.actingCode = code
                    r.targetCode = izumo.rawValue; r.individualNumber = number; r.consentReference = "consent-1"
                    return try await a.inquireTransfer(r)
                }
            }),
            (.inquireBulk, {
                _ = try await AdminClient.withAdmin(socket: socket) { a in
                    var m = Renkei_Admin_V1_AdminBulkRows(); m.session = token; m.actingCode = code; m.attempts = 1
                    var row = Renkei_Admin_V1_AdminBulkRow(); row.index = 1; row.targetCode = izumo.rawValue; row.individualNumber = number
                    m.rows = [row]
                    let sent = m
                    return try await a.inquireBulk(requestProducer: { try await $0.write(sent) }) { response in
                        var n = 0
                        for try await p in response.messages { n += p.results.count }
                        return n
                    }
                }
            }),
            (.manageUsers, {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_UserAddRequest(); r.session = token; r.actingCode = code
                    r.login = "new-\(UUID().uuidString.prefix(8).lowercased())"; r.roles = ["clerk"]; r.people = ["New Person"]
                    r.password = AccessFixture.password
                    return try await Renkei_Admin_V1_Access.Client(wrapping: c).userAdd(r)
                }
            }),
            (.reviewUsers, {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_UserListRequest(); r.session = token; r.actingCode = code; r.review = true
                    return try await Renkei_Admin_V1_Access.Client(wrapping: c).userList(r)
                }
            }),
            (.readAudit, {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_AuditExportRequest(); r.session = token; r.actingCode = code
                    return try await Renkei_Admin_V1_Records.Client(wrapping: c).auditExport(r) { response in
                        var n = 0
                        for try await chunk in response.messages { n += chunk.data.count }
                        return n
                    }
                }
            }),
            (.deleteResident, {
                // A number this municipality does not hold: an allowed caller is told "not found", nothing changes.
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_ResidentDeleteRequest(); r.session = token; r.actingCode = code; r.individualNumber = foreignNumber
                    return try await Renkei_Admin_V1_Records.Client(wrapping: c).residentDelete(r)
                }
            }),
            (.deleteTenant, {
                // A wrong confirmation: an allowed caller gets INVALID_ARGUMENT and nothing is deleted.
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_TenantDeleteRequest(); r.session = token; r.actingCode = code; r.confirmCode = "000000"
                    return try await Renkei_Admin_V1_Records.Client(wrapping: c).tenantDelete(r)
                }
            }),
            (.backup, {
                _ = try await AdminClient.withAdmin(socket: socket) { a in
                    var r = Renkei_Admin_V1_BackupNowRequest(); r.session = token; r.actingCode = code
                    return try await a.backupNow(r)
                }
            }),
            (.backupStatus, {
                _ = try await AdminClient.withAdmin(socket: socket) { a in
                    var r = Renkei_Admin_V1_BackupStatusRequest(); r.session = token; r.actingCode = code
                    return try await a.backupStatus(r)
                }
            }),
            (.reportMediaErasure, {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_MediaErasedRequest(); r.session = token; r.actingCode = code
                    r.mediaID = UUID().uuidString; r.method = "overwritten"
                    return try await Renkei_Admin_V1_Records.Client(wrapping: c).reportMediaErased(r)
                }
            }),
            (.rotateTenantKey, {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_KeyRotateTenantRequest(); r.session = token; r.actingCode = code
                    return try await Renkei_Admin_V1_TenantKeys.Client(wrapping: c).keyRotateTenant(r)
                }
            }),
            (.keyStatus, {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_KeyStatusRequest(); r.session = token; r.actingCode = code
                    return try await Renkei_Admin_V1_TenantKeys.Client(wrapping: c).keyStatus(r)
                }
            }),
        ]
    }

    /// The matrix as the issue and Ops/assessment.md state it, written out
    /// independently of `PermissionMatrix`.
    static let allowed: [Role: Set<String>] = [
        .clerk: ["import", "export", "resident-show", "mark-moved-out", "media-erasure"],
        .inquirer: ["inquire-transfer", "inquire-bulk"],
        .administrator: ["user-manage", "user-review", "resident-delete", "tenant-delete", "backup", "backup-status", "key-rotate", "key-status"],
        .auditor: ["audit-read", "user-review", "key-status"],
        .drOperator: ["backup", "backup-status", "restore"],
    ]

    func log(_ code: MunicipalityCode) throws -> [AuditEntry] {
        try store.exportAudit(code, from: nil, to: nil).entries
    }

    @Test func roleMatrix() async throws {
        let tokens = try Dictionary(uniqueKeysWithValues: Role.allCases.map { ($0, try access.session(matsue, [$0])) })
        try await withAdmin { socket in
            for role in Role.allCases {
                for (operation, call) in calls(socket: socket, token: tokens[role]!, acting: matsue) {
                    let before = try log(matsue).count
                    let code = await Self.status(call)
                    let mayDo = Self.allowed[role]!.contains(operation.rawValue)
                    #expect(PermissionMatrix.allows([role], operation) == mayDo, "matrix: \(role) \(operation)")
                    if mayDo {
                        #expect(code != .permissionDenied && code != .unauthenticated, "\(role) may \(operation) but got \(String(describing: code))")
                    } else {
                        #expect(code == .permissionDenied, "\(role) may not \(operation) but got \(String(describing: code))")
                        let denied = try log(matsue).dropFirst(before).filter { $0.event == .permissionDenied }
                        #expect(denied.count == 1, "\(role) \(operation): the refusal is logged once")
                        #expect(denied.first?.actor == "u322016-\(role.rawValue)")
                        #expect(denied.first?.terminal == "desk-1")
                        #expect(denied.first?.detail?.contains("operation=\(operation.rawValue)") == true)
                    }
                }
            }
        }
        // The allowed calls did their work and were logged with who did them.
        let entries = try log(matsue)
        #expect(entries.contains { $0.event == .recordsImported && $0.outcome == .ok && $0.actor == "u322016-clerk" })
        #expect(entries.contains { $0.event == .residentViewed && $0.actor == "u322016-clerk" && $0.numberIndex != nil })
        #expect(entries.contains { $0.event == .inquirySent && $0.actor == "u322016-inquirer" })
        #expect(entries.contains { $0.event == .accountAdded && $0.actor == "u322016-administrator" })
        #expect(entries.contains { $0.event == .auditExported && $0.actor == "u322016-auditor" })
        #expect(store.hosts(matsue))
    }

    @Test func crossMunicipalityDenied() async throws {
        let hamadaClerk = try access.session(hamada, [.clerk])
        let hamadaAdmin = try access.session(hamada, [.administrator])
        try await withAdmin { socket in
            for (operation, call) in calls(socket: socket, token: hamadaClerk, acting: matsue) + calls(socket: socket, token: hamadaAdmin, acting: matsue) {
                let code = await Self.status(call)
                #expect(code == .permissionDenied, "a Hamada account acting for Matsue: \(operation) gave \(String(describing: code))")
            }
            // Acting as itself, Hamada's clerk does not find a Matsue resident.
            let number = matsuePeople[0].resident.individualNumber.digits
            let answer = try await Self.on(socket) { c in
                var r = Renkei_Admin_V1_ResidentShowRequest(); r.session = hamadaClerk; r.actingCode = hamada.rawValue; r.individualNumber = number
                return try await Renkei_Admin_V1_Records.Client(wrapping: c).residentShow(r)
            }
            #expect(!answer.found)
        }
        let refused = try log(hamada).filter { $0.event == .permissionDenied }
        #expect(refused.count == 32)
        #expect(refused.allSatisfy { $0.targetCode == matsue.rawValue && $0.detail?.contains("another municipality") == true })
        #expect(try log(matsue).filter { $0.event == .permissionDenied }.isEmpty)
    }

    @Test func idleSessionEnds() async throws {
        let token = try access.session(matsue, [.clerk])
        let number = matsuePeople[1].resident.individualNumber.digits
        try await withAdmin { socket in
            let show: @Sendable () async throws -> Void = {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_ResidentShowRequest(); r.session = token; r.actingCode = matsue.rawValue; r.individualNumber = number
                    return try await Renkei_Admin_V1_Records.Client(wrapping: c).residentShow(r)
                }
            }
            #expect(await Self.status(show) == nil)
            access.clock.advance(seconds: 14 * 60)
            #expect(await Self.status(show) == nil, "used within 15 minutes: still open")
            access.clock.advance(seconds: 15 * 60 + 1)
            #expect(await Self.status(show) == .unauthenticated, "15 minutes idle: ended")
            #expect(await Self.status(show) == .unauthenticated, "and it stays ended")

            // A session in steady use still ends at its lifetime (8 hours).
            let busy = try access.session(matsue, [.clerk])
            let busyShow: @Sendable () async throws -> Void = {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_ResidentShowRequest(); r.session = busy; r.actingCode = matsue.rawValue; r.individualNumber = number
                    return try await Renkei_Admin_V1_Records.Client(wrapping: c).residentShow(r)
                }
            }
            for _ in 0..<(8 * 6 - 1) {
                access.clock.advance(seconds: 600)
                #expect(await Self.status(busyShow) == nil)
            }
            access.clock.advance(seconds: 601)
            #expect(await Self.status(busyShow) == .unauthenticated)
        }
    }

    func login(_ socket: String, _ login: String, password: String = AccessFixture.password, totp: String, terminal: String = "desk-1") async -> RPCError.Code? {
        await Self.status {
            _ = try await Self.on(socket) { c in
                var r = Renkei_Admin_V1_LoginRequest(); r.login = login; r.password = password; r.totp = totp; r.terminal = terminal
                return try await Renkei_Admin_V1_Access.Client(wrapping: c).login(r)
            }
        }
    }

    func code(_ account: Account, stepsAhead: Int = 0) -> String {
        TOTP(secret: account.totpSecret).code(at: access.clock.now.addingTimeInterval(Double(30 * stepsAhead)))
    }

    func add(_ login: String, code: MunicipalityCode = matsue, roles: Set<Role> = [.clerk], people: [String] = ["Yamada Hanako"],
             terminals: [String] = []) throws -> Account {
        try access.gate.accounts.add(NewAccount(login: login, code: code.rawValue, roles: roles, people: people, terminals: terminals,
                                                password: AccessFixture.password), now: access.clock.now)
    }

    @Test func loginWithPasswordAndOneTimeCode() async throws {
        let account = try add("clerk-a", terminals: ["desk-1"])
        try await withAdmin { socket in
            #expect(await login(socket, "clerk-a", totp: code(account)) == nil)
            #expect(await login(socket, "clerk-a", totp: code(account)) == .unauthenticated, "a code counts once")
            access.clock.advance(seconds: 30)
            #expect(await login(socket, "clerk-a", totp: code(account), terminal: "desk-9") == .unauthenticated, "not an allowed terminal")
            access.clock.advance(seconds: 30)
            #expect(await login(socket, "nobody", totp: "123456") == .unauthenticated)
            #expect(await login(socket, "clerk-a", totp: code(account)) == nil)
        }
        let entries = try log(matsue)
        #expect(entries.filter { $0.event == .login && $0.actor == "clerk-a" }.count == 2)
        #expect(entries.contains { $0.event == .loginFailed && $0.detail?.contains("reason=replayed-totp") == true })
        #expect(entries.contains { $0.event == .loginFailed && $0.terminal == "desk-9" && $0.detail?.contains("reason=terminal-not-allowed") == true })
    }

    @Test func dormantAndDisabledCannotLogIn() async throws {
        let sleeper = try add("sleeper")
        let leaver = try add("leaver")
        let admin = try access.session(matsue, [.administrator])
        try await withAdmin { socket in
            #expect(await login(socket, "leaver", totp: code(leaver)) == nil)
            let leaverSession = try access.gate.sessions.open(leaver, terminal: "desk-2", now: access.clock.now)
            let disabled = try await Self.on(socket) { c in
                var r = Renkei_Admin_V1_UserDisableRequest(); r.session = admin; r.actingCode = matsue.rawValue
                r.login = "leaver"; r.reason = "moved to another department"
                return try await Renkei_Admin_V1_Access.Client(wrapping: c).userDisable(r)
            }
            #expect(disabled.sessionsClosed == 2)
            #expect(access.gate.sessions.check(leaverSession, now: access.clock.now) == .unknown)
            access.clock.advance(seconds: 30)
            #expect(await login(socket, "leaver", totp: code(leaver)) == .unauthenticated, "disabled")

            access.clock.advance(seconds: 91 * 86_400)
            #expect(await login(socket, "sleeper", totp: code(sleeper)) == .unauthenticated, "unused for 91 days")
            let review = try await Self.on(socket) { c in
                var r = Renkei_Admin_V1_UserListRequest(); r.session = try access.session(matsue, [.auditor]); r.actingCode = matsue.rawValue; r.review = true
                return try await Renkei_Admin_V1_Access.Client(wrapping: c).userList(r)
            }
            let rows = Dictionary(uniqueKeysWithValues: review.users.map { ($0.login, $0) })
            #expect(rows["sleeper"]?.dormant == true)
            #expect(rows["leaver"]?.disabled == true && rows["leaver"]?.disabledReason == "moved to another department")
            #expect(review.reviewAuditSequence > 0)
        }
        let entries = try log(matsue)
        #expect(entries.contains { $0.event == .accountDisabled && $0.detail?.contains("login=leaver") == true })
        #expect(entries.contains { $0.event == .loginFailed && $0.actor == "leaver" && $0.detail?.contains("reason=disabled") == true })
        #expect(entries.contains { $0.event == .loginFailed && $0.actor == "sleeper" && $0.detail?.contains("reason=dormant") == true })
        #expect(entries.contains { $0.event == .accountsReviewed })
    }

    @Test func bruteForceLocksAccount() async throws {
        let target = try add("target")
        try await withAdmin { socket in
            for _ in 0..<5 {
                #expect(await login(socket, "target", password: "wrong password 123", totp: code(target)) == .unauthenticated)
            }
            #expect(await login(socket, "target", totp: code(target)) == .unauthenticated, "locked even with the right password")
            access.clock.advance(seconds: 15 * 60 + 1)
            #expect(await login(socket, "target", totp: code(target)) == nil, "the lock ends")
        }
        let failures = try log(matsue).filter { $0.event == .loginFailed && $0.actor == "target" }
        #expect(failures.count == 6)
        #expect(failures.filter { $0.detail?.contains("reason=bad-password") == true }.count == 5)
        #expect(failures.last?.detail?.contains("reason=locked") == true)
    }

    @Test func foreignAdministratorCannotDelete() async throws {
        let hamadaAdmin = try access.session(hamada, [.administrator])
        try await withAdmin { socket in
            let code = await Self.status {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_TenantDeleteRequest(); r.session = hamadaAdmin; r.actingCode = matsue.rawValue
                    r.confirmCode = matsue.rawValue
                    return try await Renkei_Admin_V1_Records.Client(wrapping: c).tenantDelete(r)
                }
            }
            #expect(code == .permissionDenied)
        }
        #expect(store.hosts(matsue))
        #expect(try store.tenant(matsue).counts().residents == 4)
        #expect(try log(hamada).contains { $0.event == .permissionDenied && $0.targetCode == matsue.rawValue
            && $0.detail?.contains("operation=tenant-delete") == true })
    }

    @Test func administratorDeletesOnePerson() async throws {
        let admin = try access.session(matsue, [.administrator])
        let gone = matsuePeople[1]
        let before = try store.tenant(matsue).counts()
        try await withAdmin { socket in
            let answer = try await Self.on(socket) { c in
                var r = Renkei_Admin_V1_ResidentDeleteRequest(); r.session = admin; r.actingCode = matsue.rawValue
                r.individualNumber = gone.resident.individualNumber.digits
                return try await Renkei_Admin_V1_Records.Client(wrapping: c).residentDelete(r)
            }
            #expect(answer.found)
            #expect(Int(answer.vaccinationsDeleted) == gone.vaccinations.count)
        }
        #expect(try store.tenant(matsue).resident(number: gone.resident.individualNumber) == nil)
        #expect(try store.tenant(matsue).counts().residents == before.residents - 1)
        #expect(try store.tenant(matsue).resident(number: matsuePeople[0].resident.individualNumber) != nil)
        let entry = try #require(try log(matsue).last)
        #expect(entry.event == .residentDeleted && entry.actor == "u322016-administrator")
        #expect(try entry.numberIndex == store.tenant(matsue).numberIndexHex(gone.resident.individualNumber))
    }

    @Test func tenantDeletionCryptoShreds() async throws {
        let matsueAdmin = try access.session(matsue, [.administrator])
        let clerk = try access.session(matsue, [.clerk])
        let keyring = NodeDirectory(data).keyringPath(for: matsue.rawValue)
        #expect(FileManager.default.fileExists(atPath: keyring))
        try await withAdmin { socket in
            let answer = try await Self.on(socket) { c in
                var r = Renkei_Admin_V1_TenantDeleteRequest(); r.session = matsueAdmin; r.actingCode = matsue.rawValue
                r.confirmCode = matsue.rawValue
                return try await Renkei_Admin_V1_Records.Client(wrapping: c).tenantDelete(r)
            }
            #expect(answer.accountsDisabled == 2)
            // The clerk's session ended with the tenant.
            let after = await Self.status {
                _ = try await Self.on(socket) { c in
                    var r = Renkei_Admin_V1_ResidentShowRequest(); r.session = clerk; r.actingCode = matsue.rawValue
                    r.individualNumber = matsuePeople[0].resident.individualNumber.digits
                    return try await Renkei_Admin_V1_Records.Client(wrapping: c).residentShow(r)
                }
            }
            #expect(after == .unauthenticated)
        }
        #expect(!store.hosts(matsue))
        #expect(!FileManager.default.fileExists(atPath: keyring))
        #expect(store.hosts(hamada))
        // The operation log outlives the tenant and still verifies.
        let export = try store.exportAudit(matsue, from: nil, to: nil)
        #expect(export.problem == nil)
        #expect(export.entries.last?.event == .tenantDeleted)
    }

    @Test func operationLogHasNoPersonalData() async throws {
        let tokens = try Dictionary(uniqueKeysWithValues: Role.allCases.map { ($0, try access.session(matsue, [$0])) })
        try await withAdmin { socket in
            for role in Role.allCases {
                for (_, call) in calls(socket: socket, token: tokens[role]!, acting: matsue) { _ = await Self.status(call) }
            }
            #expect(await login(socket, "nobody", password: matsuePeople[2].resident.name, totp: "000000") == .unauthenticated)
        }
        var raw = Data()
        for file in try FileManager.default.contentsOfDirectory(atPath: data + "/audit") {
            raw += try Data(contentsOf: URL(fileURLWithPath: data + "/audit/" + file))
        }
        let text = String(decoding: raw, as: UTF8.self)
        #expect(text.contains("resident-viewed"), "the scan reads real entries")
        for person in matsuePeople + hamadaPeople {
            let r = person.resident
            for secret in [r.individualNumber.digits, r.name, r.nameKana, r.address, r.addressNumber.digits] {
                #expect(!text.contains(secret), "personal data in the operation log")
            }
        }
    }
}
