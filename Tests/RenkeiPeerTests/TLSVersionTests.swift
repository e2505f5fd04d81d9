import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Testing
@testable import RenkeiPeer

/// The contract allows TLS 1.3 only; grpc-swift-nio-transport's floor is
/// TLS 1.2, so the node closes any connection that settled on less.
@Suite struct TLSVersionTests {
    /// Connects with a valid client certificate, capped at `maximum`, and
    /// reports whether the server closed the connection within `window`.
    func serverCloses(maximum: TLSVersion?, window: Duration) async throws -> Bool {
        let fed = try Federation()
        try fed.issue("matsue", codes: [matsue])
        try fed.issue("izumo", codes: [izumo])
        let store = try fed.makeStore("matsue", hosting: [matsue], residents: 1)
        return try await withProvider(fed.config("matsue"), store: store, metrics: PeerMetrics()) { port in
            let client = fed.config("izumo")
            var tls = TLSConfiguration.makeClientConfiguration()
            if let maximum { tls.maximumTLSVersion = maximum }
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(client.certificatePath).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: client.privateKeyPath, format: .pem))
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(fed.caPath))
            tls.certificateVerification = .noHostnameVerification
            tls.applicationProtocols = ["h2"]
            let context = try NIOSSLContext(configuration: tls)
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: context, serverHostname: nil))
                    }
                }
                .connect(host: "127.0.0.1", port: port).get()
            return await withTaskGroup(of: Bool.self) { group in
                group.addTask { _ = try? await channel.closeFuture.get(); return true }
                group.addTask {
                    try? await Task.sleep(for: window)
                    return false
                }
                let first = await group.next() ?? false
                if first { group.cancelAll() } else { try? await channel.close() }
                await group.waitForAll()
                return first
            }
        }
    }

    @Test func tls12ConnectionIsClosed() async throws {
        #expect(try await serverCloses(maximum: .tlsv12, window: .seconds(5)))
    }

    @Test func tls13ConnectionStaysOpen() async throws {
        #expect(try await serverCloses(maximum: nil, window: .seconds(2)) == false)
    }
}
