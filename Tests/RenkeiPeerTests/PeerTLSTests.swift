import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiCore
import RenkeiPKI
import RenkeiSynth
import RenkeiTenantStore
import RenkeiWire
import Testing
@testable import RenkeiPeer

/// In-process provider and requester over real mutual TLS on 127.0.0.1.
///
/// The provider is a shared node hosting Matsue (322016) and Hamada (322024);
/// its certificate also carries Yasugi (322067), a tenant it does not host
/// (yet). The requester is Izumo (322032).
@Suite struct PeerTLSTests {
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
        store = try fed.makeStore("shared", hosting: [matsue, hamada])
    }

    func directory(port: Int) throws -> String {
        try fed.signDirectory([matsue: (port, provider), hamada: (port, provider), yasugi: (port, provider)])
    }

    func ask(_ target: MunicipalityCode, _ number: IndividualNumber, as requester: MunicipalityCode = izumo,
             certificate: String = "izumo", port: Int) async throws -> Renkei_V1_TransferInquiryResponse {
        let config = fed.config(certificate, directory: try directory(port: port))
        return try await TransferInquiryClient.inquire(
            TransferInquiry(requester: requester, target: target, number: number, consentReference: "consent-1"), config: config)
    }

    @Test func matchReturnsIdentityFactsAndDoses() async throws {
        let person = matsuePeople.first { !$0.vaccinations.isEmpty } ?? matsuePeople[0]
        try await withProvider(fed.config("shared"), store: store, metrics: metrics) { port in
            let response = try await ask(matsue, person.resident.individualNumber, port: port)
            #expect(response.outcome == .match)
            let file = response.match
            #expect(file.resident.name == person.resident.name)
            #expect(file.resident.nameKana == person.resident.nameKana)
            #expect(file.resident.dateOfBirth == person.resident.dateOfBirth.iso)
            #expect(file.doses.count == person.vaccinations.count)
            #expect(file.doses.map(\.vaccinationDate) == person.vaccinations.map(\.vaccinationDate.iso))
            #expect(try wireSize(response) == 4096)
        }
        #expect(metrics.snapshot.matches == 1)
    }

    @Test func everyMissIsTheSameNoMatch() async throws {
        let hamadaNumber = hamadaPeople[0].resident.individualNumber
        let unknown = try IndividualNumber.completing(firstEleven: "98765432101")
        try await withProvider(fed.config("shared"), store: store, metrics: metrics) { port in
            // A Hamada resident asked at Matsue: hosted by the same node, wrong tenant.
            let wrongTarget = try await ask(matsue, hamadaNumber, port: port)
            // Nobody has this number.
            let unknownNumber = try await ask(matsue, unknown, port: port)
            // Yasugi is in the certificate and the directory but not hosted here.
            let unhosted = try await ask(yasugi, hamadaNumber, port: port)
            // The same number at the right tenant matches, so the misses are not about the number.
            let right = try await ask(hamada, hamadaNumber, port: port)
            #expect(right.outcome == .match)
            let misses = [wrongTarget, unknownNumber, unhosted]
            for miss in misses {
                #expect(miss.outcome == .noMatch)
                #expect(!miss.hasMatch)
                #expect(miss.padding.allSatisfy { $0 == 0 })
            }
            let sizes = try misses.map(wireSize)
            #expect(Set(sizes) == [4096])
            // Same fields, same size: only the request ID differs.
            let shapes = try misses.map { m -> [UInt8] in
                var copy = m
                copy.requestID = String(repeating: "0", count: 36)
                return try copy.serializedBytes()
            }
            #expect(Set(shapes).count == 1)
        }
        #expect(metrics.snapshot.noMatches == 3)
        // Only the hosted tenants were searched.
        #expect(metrics.snapshot.lookups == 3)
    }

    @Test func requesterCodeNotInClientCertificateIsDenied() async throws {
        let number = matsuePeople[0].resident.individualNumber
        try await withProvider(fed.config("shared"), store: store, metrics: metrics) { port in
            // Izumo's certificate asking in Hamada's name: the typed client refuses locally...
            let local = await peerError { _ = try await ask(matsue, number, as: hamada, port: port) }
            #expect(local?.code == .invalidInput)
            #expect(metrics.snapshot.inquiriesReceived == 0)
            // ...and the provider denies it when sent anyway.
            let config = fed.config("izumo", directory: try directory(port: port))
            let route = try PeerRoute.lookUp(matsue, config: config, trust: try PeerTrust.load(config).trust)
            await #expect(throws: RPCError.self) {
                do {
                    _ = try await rawInquire(request(number: number.digits, requester: hamada), route: route, config: config)
                } catch let error as RPCError {
                    #expect(error.code == .permissionDenied)
                    #expect(error.message.hasPrefix("requester_code: "))
                    throw error
                }
            }
        }
        #expect(metrics.snapshot.denied == 1)
        #expect(metrics.snapshot.lookups == 0)
    }

    @Test func malformedNumberIsInvalidArgumentNamingTheFieldWithoutLookup() async throws {
        try await withProvider(fed.config("shared"), store: store, metrics: metrics) { port in
            let config = fed.config("izumo", directory: try directory(port: port))
            let route = try PeerRoute.lookUp(matsue, config: config, trust: try PeerTrust.load(config).trust)
            for (number, rule) in [("123456789012", "check digit"), ("1234567890", "12 digits"), ("", "required")] {
                do {
                    _ = try await rawInquire(request(number: number), route: route, config: config)
                    Issue.record("a malformed number was answered")
                } catch let error as RPCError {
                    #expect(error.code == .invalidArgument)
                    #expect(error.message.hasPrefix("individual_number: "))
                    #expect(error.message.contains(rule))
                    #expect(number.isEmpty || !error.message.contains(number))
                }
            }
        }
        #expect(metrics.snapshot.invalid == 3)
        #expect(metrics.snapshot.lookups == 0)
    }

    @Test func oversizedRequestIsResourceExhaustedWithoutLookup() async throws {
        try await withProvider(fed.config("shared"), store: store, metrics: metrics) { port in
            let config = fed.config("izumo", directory: try directory(port: port))
            let route = try PeerRoute.lookUp(matsue, config: config, trust: try PeerTrust.load(config).trust)
            var big = request(number: matsuePeople[0].resident.individualNumber.digits)
            // Just over the limit; a debug build's TLS on a loaded machine needs time for megabytes.
            big.consentReference = String(repeating: "x", count: 4 * 1024 * 1024 + 1024)
            do {
                _ = try await rawInquire(big, route: route, config: config, timeout: .seconds(120))
                Issue.record("an oversized request was answered")
            } catch let error as RPCError {
                #expect(error.code == .resourceExhausted, "\(error)")
                #expect(error.message.hasPrefix("TransferInquiryRequest: "))
            }
            // Beyond the transport's ceiling (twice the limit) the transport
            // itself resets the stream: grpc-swift-nio-transport 2.9.2 turns
            // its own RESOURCE_EXHAUSTED into a reset (ADR 0004).
            big.consentReference = String(repeating: "x", count: 8 * 1024 * 1024 + 1024)
            do {
                _ = try await rawInquire(big, route: route, config: config, timeout: .seconds(120))
                Issue.record("an oversized request was answered")
            } catch let error as RPCError {
                #expect([.resourceExhausted, .unavailable, .internalError].contains(error.code), "\(error)")
            }
        }
        #expect(metrics.snapshot.inquiriesReceived == 1)
        #expect(metrics.snapshot.lookups == 0)
    }

    @Test func healthCheckServes() async throws {
        try await withProvider(fed.config("shared"), store: store, metrics: metrics) { port in
            let config = fed.config("izumo", directory: try directory(port: port))
            let trust = try PeerTrust.load(config)
            let route = try PeerRoute.lookUp(matsue, config: config, trust: trust.trust)
            let transport = try TransferInquiryClient.makeTransport(route: route, config: config, trust: trust, failures: HandshakeFailureLog())
            let response = try await withGRPCClient(transport: transport) { client in
                try await Renkei_V1_Health.Client(wrapping: client).check(Renkei_V1_HealthCheckRequest())
            }
            #expect(response.status == .serving)
            #expect(response.protocolVersions == ["renkei.v1"])
        }
    }
}
