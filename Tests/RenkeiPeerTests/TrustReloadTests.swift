import Foundation
import Logging
import RenkeiCore
import RenkeiPKI
import RenkeiTenantStore
import Testing
@testable import RenkeiPeer

/// A running node takes a new revocation list or directory without a restart,
/// and refuses a bad new one while keeping the last good one.
@Suite struct TrustReloadTests {
    let fed: Federation
    let provider: IssuedCertificate
    let store: NodeStore
    let metrics = PeerMetrics()
    let number = people(matsue, count: 1, seed: 322016)[0].resident.individualNumber

    init() throws {
        fed = try Federation()
        provider = try fed.issue("matsue", codes: [matsue])
        store = try fed.makeStore("matsue", hosting: [matsue], residents: 1)
    }

    func writeRevocations(_ revoked: [IssuedCertificate], to path: String) throws {
        let list = try RevocationList.sign(try revoked.map { .init(serial: try $0.info.serial, revokedAt: Date(), reason: "keyCompromise") },
                                           ca: fed.ca, nextUpdate: Date().addingTimeInterval(day))
        // Written elsewhere and renamed into place, as an operator's tooling would.
        try Data(list).write(to: URL(fileURLWithPath: path + ".new"))
        _ = rename(path + ".new", path)
    }

    @Test func revocationListIsReloadedWhileServing() async throws {
        let izumoNode = try fed.issue("izumo", codes: [izumo])
        let path = fed.dir.file("revocations.json")
        try writeRevocations([], to: path)
        let serverConfig = fed.config("matsue", revocations: path)
        let trust = try TrustSource(config: serverConfig, logger: fed.logger)
        let server = try PeerServer.make(config: serverConfig, store: store, logger: fed.logger, metrics: metrics, trustSource: trust)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await server.serve() }
            defer { server.beginGracefulShutdown() }
            let port = try #require(try await server.listeningAddress?.ipv4?.port)
            let directory = try fed.signDirectory([matsue: (port, provider)])
            let ask = { () async -> PeerError? in
                await peerError {
                    _ = try await TransferInquiryClient.inquire(
                        TransferInquiry(requester: izumo, target: matsue, number: number, consentReference: "c-1"),
                        config: fed.config("izumo", directory: directory))
                }
            }
            #expect(await ask() == nil)
            try writeRevocations([izumoNode], to: path)
            #expect(await ask() != nil, "a certificate revoked after start is refused on the next connection")
            #expect(metrics.snapshot.inquiriesReceived == 1)

            // A tampered new list is refused; the revocation stays in force.
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
            bytes[bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(await ask() != nil)
            #expect(trust.refusals == 1)
            #expect(metrics.snapshot.inquiriesReceived == 1)

            server.beginGracefulShutdown()
            try await group.waitForAll()
        }
    }

    @Test func directoryIsReloadedAndABadOneRefused() throws {
        let path = try fed.signDirectory([matsue: (1111, provider)])
        let trust = try TrustSource(config: fed.config("matsue", directory: path), logger: fed.logger)
        #expect(try trust.route(to: matsue).entry.port == 1111)
        #expect(throws: PeerError.self) { try trust.route(to: izumo) }

        let izumoNode = try fed.issue("izumo", codes: [izumo])
        _ = try fed.signDirectory([matsue: (2222, provider), izumo: (3333, izumoNode)])
        #expect(try trust.route(to: matsue).entry.port == 2222)
        #expect(try trust.route(to: izumo).entry.port == 3333)

        // Tampered: one bit flipped. Refused; the previous one stays.
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try trust.route(to: izumo).entry.port == 3333)
        #expect(trust.refusals == 1)
        _ = try trust.directory()
        #expect(trust.refusals == 1, "one refusal per file version, not per use")

        // The previous one serves only until it expires.
        #expect(throws: PeerError.self) { try trust.directory(now: Date().addingTimeInterval(2 * day)) }
    }

    @Test func expiredNewDirectoryIsRefused() throws {
        let path = try fed.signDirectory([matsue: (1111, provider)])
        let trust = try TrustSource(config: fed.config("matsue", directory: path), logger: fed.logger)
        _ = try trust.directory()
        _ = try fed.signDirectory([matsue: (2222, provider)], expiresAt: Date().addingTimeInterval(-30))
        #expect(try trust.route(to: matsue).entry.port == 1111)
        #expect(trust.refusals == 1)
    }
}
