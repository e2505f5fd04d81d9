import Foundation
import GRPCCore
import Logging
import RenkeiCore
import RenkeiPKI
import ServiceLifecycle
import Testing
@testable import RenkeiPeer

/// The node under swift-service-lifecycle: graceful shutdown lets calls that
/// were sent finish, then the service returns without error.
@Suite struct ShutdownTests {
    @Test func gracefulShutdownFinishesCallsInFlightAndReturns() async throws {
        let fed = try Federation()
        let provider = try fed.issue("matsue", codes: [matsue])
        try fed.issue("izumo", codes: [izumo])
        let store = try fed.makeStore("matsue", hosting: [matsue], residents: 3)
        let metrics = PeerMetrics()
        let logger = Logger(label: "test.shutdown")
        let server = try PeerServer.make(config: fed.config("matsue"), store: store, logger: logger, metrics: metrics)
        let group = ServiceGroup(services: [GRPCServerService(name: "peer API", server: server, logger: logger)], logger: logger)
        let numbers = people(matsue, count: 3, seed: 322016).map(\.resident.individualNumber)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            guard let port = try await server.listeningAddress?.ipv4?.port else {
                Issue.record("no port")
                return
            }
            let config = fed.config("izumo", directory: try fed.signDirectory([matsue: (port, provider)]))
            // Calls in flight when the shutdown begins.
            let outcomes = try await withThrowingTaskGroup(of: Bool.self) { calls in
                for i in 0..<12 {
                    calls.addTask {
                        let inquiry = TransferInquiry(requester: izumo, target: matsue, number: numbers[i % 3], consentReference: "c-\(i)")
                        return try await TransferInquiryClient.inquire(inquiry, config: config).outcome == .match
                    }
                }
                // Wait until the provider has received at least one call (at
                // most 60 s, so a call that never arrives fails the test
                // below instead of hanging it), then shut down.
                let deadline = ContinuousClock.now + .seconds(60)
                while metrics.snapshot.inquiriesReceived == 0, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(1))
                }
                await group.triggerGracefulShutdown()
                var results: [Bool] = []
                while let next = await calls.nextResult() {
                    if case .success(let matched) = next { results.append(matched) }
                }
                return results
            }
            // Every call the provider accepted was answered in full.
            #expect(outcomes.allSatisfy { $0 })
            #expect(outcomes.count >= metrics.snapshot.matches)
            #expect(metrics.snapshot.inquiriesReceived == metrics.snapshot.matches)
            try await tasks.waitForAll()
        }
        // The provider did answer calls before and during the shutdown.
        #expect(metrics.snapshot.matches >= 1)
    }
}
