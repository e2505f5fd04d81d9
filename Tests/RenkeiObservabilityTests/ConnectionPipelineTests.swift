import NIOCore
import NIOEmbedded
import NIOHTTP1
import Prometheus
import Testing

@testable import RenkeiObservability

/// One connection's pipeline on an `EmbeddedChannel`, so the order of bytes
/// and shutdown events is exact (no sockets, no threads).
@Suite("Connection pipeline")
struct ConnectionPipelineTests {
    private func makeChannel() throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let router = ObservabilityRouter(registry: PrometheusCollectorRegistry(), readiness: Readiness())
        try ObservabilityServer.configure(channel.pipeline.syncOperations, router: router)
        // An EmbeddedChannel is inactive until connected.
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9464)).wait()
        #expect(channel.isActive)
        return channel
    }

    private func send(_ text: String, to channel: EmbeddedChannel) throws {
        try channel.writeInbound(channel.allocator.buffer(string: text))
    }

    private func output(of channel: EmbeddedChannel) throws -> String {
        var text = ""
        while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += buffer.readString(length: buffer.readableBytes) ?? ""
        }
        return text
    }

    @Test("shutdown between requests closes the connection at once")
    func quiesceIdle() throws {
        let channel = try makeChannel()
        try send("GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n", to: channel)
        #expect(try output(of: channel).hasPrefix("HTTP/1.1 200 OK"))
        channel.pipeline.fireUserInboundEventTriggered(QuiesceEvent())
        #expect(!channel.isActive)
    }

    @Test("shutdown with half a request head received: answered with connection: close, then closed")
    func quiescePartialHead() throws {
        let channel = try makeChannel()
        try send("GET /healthz HTTP/1.1\r\nhos", to: channel)
        channel.pipeline.fireUserInboundEventTriggered(QuiesceEvent())
        #expect(channel.isActive)
        try send("t: x\r\n\r\n", to: channel)
        let response = try output(of: channel)
        #expect(response.hasPrefix("HTTP/1.1 200 OK"))
        #expect(response.lowercased().contains("connection: close"))
        #expect(!channel.isActive)
    }

    @Test("shutdown while a request's body is arriving: answered, then closed")
    func quiesceInFlight() throws {
        let channel = try makeChannel()
        try send("GET /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\n\r\nab", to: channel)
        channel.pipeline.fireUserInboundEventTriggered(QuiesceEvent())
        #expect(channel.isActive)
        try send("cd", to: channel)
        let response = try output(of: channel)
        #expect(response.hasPrefix("HTTP/1.1 200 OK"))
        #expect(!channel.isActive)
    }

    @Test("an oversized head is answered 431 and the connection closed")
    func oversizedHead() throws {
        let channel = try makeChannel()
        let filler = String(repeating: "a", count: ObservabilityServer.maxRequestHeadBytes)
        try send("GET /healthz HTTP/1.1\r\nx-filler: \(filler)\r\n\r\n", to: channel)
        #expect(try output(of: channel).hasPrefix("HTTP/1.1 431"))
        #expect(!channel.isActive)
    }

    @Test("an idle timeout closes the connection")
    func idle() throws {
        let channel = try makeChannel()
        channel.pipeline.fireUserInboundEventTriggered(IdleStateHandler.IdleStateEvent.all)
        #expect(!channel.isActive)
    }

    @Test("a malformed request is answered 400 and closed")
    func malformed() throws {
        let channel = try makeChannel()
        try? send("NOT HTTP AT ALL\r\n\r\n", to: channel)
        #expect(try output(of: channel).hasPrefix("HTTP/1.1 400"))
        #expect(!channel.isActive)
    }
}
