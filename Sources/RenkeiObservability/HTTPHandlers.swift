import Logging
import NIOCore
import NIOHTTP1

/// Sent to every open connection when the server shuts down gracefully: the
/// connection closes once its current request (if any) is answered.
struct QuiesceEvent: Sendable {
    /// Set by ``RequestHeadLimiter`` when part of a request has arrived but
    /// not yet a whole head: the connection waits for it (bounded by the idle
    /// timeout) instead of dropping a request the client already started.
    var requestPending = false
}

/// Refuses request heads longer than `limit` bytes with 431 and closes the
/// connection. Sits before the HTTP decoder (whose own limit is 80 KiB) and
/// counts the bytes since the last blank line (`\r\n\r\n`) that ended a head.
/// The endpoint only takes GET, so any body bytes count too: a request with
/// a body larger than the limit is refused the same way.
final class RequestHeadLimiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private static let terminator: [UInt8] = Array("\r\n\r\n".utf8)
    private static let refusal = "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"

    private let limit: Int
    private var bytesSinceHead = 0
    private var matched = 0
    private var refused = false

    init(limit: Int) {
        self.limit = limit
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        let buffer = unwrapInboundIn(data)
        for byte in buffer.readableBytesView {
            if byte == Self.terminator[matched] {
                matched += 1
                if matched == Self.terminator.count {
                    matched = 0
                    bytesSinceHead = 0
                    continue
                }
            } else {
                matched = byte == Self.terminator[0] ? 1 : 0
            }
            bytesSinceHead += 1
            if bytesSinceHead > limit {
                refused = true
                // Written straight to the socket: the request never reached
                // the decoder, so no response is pending behind this one.
                let response = context.channel.allocator.buffer(string: Self.refusal)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(response)).whenComplete { _ in
                    channel.close(promise: nil)
                }
                return
            }
        }
        context.fireChannelRead(data)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if var quiesce = event as? QuiesceEvent {
            quiesce.requestPending = quiesce.requestPending || bytesSinceHead > 0 || matched > 0
            context.fireUserInboundEventTriggered(quiesce)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

/// Answers decoded HTTP requests through an ``ObservabilityRouter``, one at
/// a time (the pipeline's pipelining assistance queues the next). Closes the
/// connection when it is idle (the `IdleStateHandler` before it fires), after
/// answering when the client or a graceful shutdown asked for that, and after
/// any method other than GET (so its body is never read).
///
/// Request paths are never logged: a scraper or a stray client could put
/// anything in them.
final class ObservabilityHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let router: ObservabilityRouter
    private var head: HTTPRequestHead?
    private var quiescing = false
    private var closeAfterResponse = false

    init(router: ObservabilityRouter) {
        self.router = router
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            if requestHead.method != .GET {
                // Answer at once and close: the body (if any) is not read.
                closeAfterResponse = true
                respond(context: context, head: requestHead)
            }
        case .body:
            break  // GET takes no body; the head limiter bounds what arrives.
        case .end:
            guard let requestHead = head, !closeAfterResponse else { return }
            respond(context: context, head: requestHead)
        }
    }

    private func respond(context: ChannelHandlerContext, head requestHead: HTTPRequestHead) {
        self.head = nil
        let response = router.respond(method: requestHead.method, uri: requestHead.uri)
        let keepAlive = requestHead.isKeepAlive && !quiescing && !closeAfterResponse

        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: response.contentType)
        headers.add(name: "content-length", value: String(response.body.count))
        headers.add(name: "cache-control", value: "no-store")
        if let allow = response.allow { headers.add(name: "allow", value: allow) }
        if !keepAlive { headers.add(name: "connection", value: "close") }

        let responseHead = HTTPResponseHead(version: requestHead.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if !response.body.isEmpty {
            let body = context.channel.allocator.buffer(bytes: response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else if let quiesce = event as? QuiesceEvent {
            quiescing = true
            // Between requests: nothing to finish, close now. Mid-request:
            // the response goes out with `connection: close`, then closes.
            if head == nil && !quiesce.requestPending { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A failure on one connection closes that connection, never the server.
        context.close(promise: nil)
    }
}
