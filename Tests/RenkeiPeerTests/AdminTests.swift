import Foundation
import GRPCCore
import Logging
import RenkeiAccess
import RenkeiAudit
import RenkeiCore
import RenkeiCrypto
import RenkeiPKI
import RenkeiTenantStore
import RenkeiWire
import Testing
@testable import RenkeiPeer

/// The admin socket: moving in through a running requester node stores the
/// received file in the acting tenant, audits both sides, and never acts for
/// a tenant the node does not host.
@Suite struct AdminTests {
    let fed: Federation
    let providerCertificate: IssuedCertificate
    let provider: NodeStore
    let requester: NodeStore
    let requesterData: String
    let metrics = PeerMetrics()
    let izumoPeople = people(izumo, count: 3, seed: 322032)
    let access: AccessFixture
    /// A Matsue inquirer's session.
    let inquirer: String

    init() throws {
        fed = try Federation()
        providerCertificate = try fed.issue("izumo", codes: [izumo])
        provider = try fed.makeStore("izumo", hosting: [izumo], residents: 3)
        try fed.issue("shared", codes: [matsue, hamada])
        // Matsue has one of the Izumo people registered already (the 住基 move-in came first).
        requester = try fed.makeStore("shared", hosting: [matsue, hamada], residents: 2)
        requesterData = fed.dir.file("nodes/shared")
        let moved = izumoPeople[0].resident
        let registered = try Resident(addressNumber: try AddressNumber("9999999901"), individualNumber: moved.individualNumber,
                                      name: moved.name, nameKana: moved.nameKana, dateOfBirth: moved.dateOfBirth,
                                      sex: moved.sex, address: "島根県松江市末次町86")
        _ = try requester.tenant(matsue).upsertResidents([registered])
        access = try AccessFixture(store: requester, directory: fed.dir.file("access-shared"), logger: fed.logger)
        inquirer = try access.session(matsue, [.inquirer])
    }

    /// Runs the provider (Izumo) and the requester's admin socket while `body` runs.
    func withNodes(_ body: @Sendable (_ socket: String) async throws -> Void) async throws {
        try await withProvider(fed.config("izumo"), store: provider, metrics: metrics) { port in
            let directory = try fed.signDirectory([izumo: (port, providerCertificate)])
            var config = fed.config("shared", data: requesterData, directory: directory)
            config.adminSocketPath = fed.dir.file("admin.sock")
            let trust = try TrustSource(config: config, logger: fed.logger)
            let admin = try AdminServer.make(config: config, store: requester, gate: access.gate, trust: trust, logger: fed.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await admin.serve() }
                defer { admin.beginGracefulShutdown() }
                _ = try await admin.listeningAddress
                try await body(config.adminSocket)
                admin.beginGracefulShutdown()
                try await group.waitForAll()
            }
        }
    }

    func ask(_ socket: String, as acting: MunicipalityCode = matsue, number: String) async throws -> Renkei_Admin_V1_InquireTransferResponse {
        var request = Renkei_Admin_V1_InquireTransferRequest()
        request.actingCode = acting.rawValue
        request.targetCode = izumo.rawValue
        request.individualNumber = number
        request.consentReference = "consent-7"
        request.session = inquirer
        let sent = request
        return try await AdminClient.withAdmin(socket: socket) { try await $0.inquireTransfer(sent) }
    }

    @Test func matchIsStoredAndAuditedOnBothSides() async throws {
        let person = izumoPeople[0]
        try await withNodes { socket in
            let first = try await ask(socket, number: person.resident.individualNumber.digits)
            #expect(first.outcome == .match)
            #expect(first.stored == "stored")
            #expect(first.residentRegistered)
            #expect(first.match.doses.count == person.vaccinations.count)
            let again = try await ask(socket, number: person.resident.individualNumber.digits)
            // A new request ID makes a new receipt, which replaces the first.
            #expect(again.stored == "replaced")
        }
        let matsueTenant = try requester.tenant(matsue)
        let files = try matsueTenant.receivedFiles(number: person.resident.individualNumber)
        #expect(files.count == 1)
        #expect(files.first?.source == izumo)
        #expect(files.first?.doses.count == person.vaccinations.count)
        let resident = try #require(try matsueTenant.resident(number: person.resident.individualNumber))
        #expect(resident.movedIn?.otherMunicipality == izumo)
        // Nothing was stored for Hamada, the other tenant of the same node.
        #expect(try requester.tenant(hamada).receivedFiles(number: person.resident.individualNumber).isEmpty)

        let key = try NodeStore.loadMasterKey(NodeDirectory(requesterData), source: .dataDirectory)
        let report = try AuditVerifier.verify(path: NodeDirectory(requesterData).root + "/audit/322016.log", code: matsue,
                                              key: key.auditKey(for: matsue.rawValue))
        #expect(report.isIntact)
        #expect(report.verifiedEntries == 4)
        let audit = try String(contentsOfFile: NodeDirectory(requesterData).root + "/audit/322016.log", encoding: .utf8)
        #expect(audit.contains("inquiry-sent"))
        #expect(audit.contains("records-received"))
        #expect(!audit.contains(person.resident.individualNumber.digits))
        let answered = try String(contentsOfFile: fed.dir.file("nodes/izumo/audit/322032.log"), encoding: .utf8)
        #expect(answered.contains("inquiry-answered"))
        #expect(!answered.contains(person.resident.individualNumber.digits))
    }

    @Test func personNotRegisteredYetKeepsTheFile() async throws {
        let person = izumoPeople[1]
        try await withNodes { socket in
            let response = try await ask(socket, number: person.resident.individualNumber.digits)
            #expect(response.outcome == .match)
            #expect(!response.residentRegistered)
        }
        #expect(try requester.tenant(matsue).receivedFiles(number: person.resident.individualNumber).count == 1)
        #expect(try requester.tenant(matsue).resident(number: person.resident.individualNumber) == nil)
    }

    @Test func unhostedActingCodeIsDeniedAndNothingIsSent() async throws {
        try await withNodes { socket in
            await #expect {
                _ = try await ask(socket, as: yasugi, number: izumoPeople[0].resident.individualNumber.digits)
            } throws: { error in
                (error as? PeerError).map { $0.message.hasPrefix("acting_code: ") } ?? false
            }
        }
        #expect(metrics.snapshot.inquiriesReceived == 0)
    }

    @Test func badNumberIsInvalidArgumentNamingTheField() async throws {
        try await withNodes { socket in
            await #expect {
                _ = try await ask(socket, number: "123456789010")
            } throws: { error in
                guard let e = error as? PeerError else { return false }
                return e.code == .invalidInput && e.message.hasPrefix("individual_number: ") && !e.message.contains("123456789010")
            }
        }
        #expect(metrics.snapshot.inquiriesReceived == 0)
    }

    @Test func movedOutIsMarkedOnTheProvider() async throws {
        let person = izumoPeople[2]
        let config = { () -> NodeConfig in
            var c = fed.config("izumo", data: fed.dir.file("nodes/izumo"))
            c.adminSocketPath = fed.dir.file("izumo-admin.sock")
            return c
        }()
        let providerAccess = try AccessFixture(store: provider, directory: fed.dir.file("access-izumo"), logger: fed.logger)
        let clerk = try providerAccess.session(izumo, [.clerk])
        let admin = try AdminServer.make(config: config, store: provider, gate: providerAccess.gate,
                                         trust: try TrustSource(config: config, logger: fed.logger), logger: fed.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await admin.serve() }
            defer { admin.beginGracefulShutdown() }
            _ = try await admin.listeningAddress
            var request = Renkei_Admin_V1_MarkMovedOutRequest()
            request.actingCode = izumo.rawValue
            request.individualNumber = person.resident.individualNumber.digits
            request.toCode = matsue.rawValue
            request.movedOutOn = "2026-11-01"
            request.session = clerk
            let sent = request
            let first = try await AdminClient.withAdmin(socket: config.adminSocket) { try await $0.markMovedOut(sent) }
            let second = try await AdminClient.withAdmin(socket: config.adminSocket) { try await $0.markMovedOut(sent) }
            #expect(first.result == .marked)
            #expect(second.result == .alreadyMarked)
            admin.beginGracefulShutdown()
            try await group.waitForAll()
        }
        let resident = try #require(try provider.tenant(izumo).resident(number: person.resident.individualNumber))
        #expect(resident.movedOut?.otherMunicipality == matsue)
        // The provider still answers for a resident who moved out.
        #expect(try provider.tenant(izumo).residentFile(number: person.resident.individualNumber) != nil)
    }
}
