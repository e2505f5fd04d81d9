import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import NIOCore
import NIOSSL
import RenkeiCore
import RenkeiPKI
import RenkeiWire
import Synchronization

/// How a requester drives `InquireBulk` against one provider node.
public struct BulkInquiryOptions: Sendable {
    /// Items per batch (1 to 1,000, the contract's limit).
    public var batchSize: Int
    /// Concurrent InquireBulk streams to the provider (one connection).
    public var streamsPerProvider: Int
    /// Batches in flight per stream (1 to 8, the contract's limit).
    public var batchesInFlightPerStream: Int
    /// Applies to every item.
    public var purpose: Renkei_V1_Purpose
    /// The consent reference sent with every item.
    public var consentReference: String

    public init(batchSize: Int = WireLimits.maxBulkItemsPerMessage, streamsPerProvider: Int = 2,
                batchesInFlightPerStream: Int = WireLimits.maxBatchesInFlight,
                purpose: Renkei_V1_Purpose = .transferIn, consentReference: String = "consent-on-file") {
        self.batchSize = min(max(batchSize, 1), WireLimits.maxBulkItemsPerMessage)
        self.streamsPerProvider = max(streamsPerProvider, 1)
        self.batchesInFlightPerStream = min(max(batchesInFlightPerStream, 1), WireLimits.maxBatchesInFlight)
        self.purpose = purpose
        self.consentReference = consentReference
    }
}

/// One item's answer, checked against the contract.
public struct BulkItemAnswer: Sendable {
    public let item: BulkInquiryItem
    /// MATCH, NO_MATCH or INVALID (never UNSPECIFIED).
    public let result: Renkei_V1_BulkResult
}

/// A completed batch: every item answered exactly once.
public struct BulkBatchAnswer: Sendable {
    public let batchID: String
    /// In the batch's item order.
    public let answers: [BulkItemAnswer]
    /// From sending the batch to its batch_complete.
    public let latency: Duration
}

/// The requester's book of one stream's batches in flight: matches results
/// to items and decides when the provider broke the contract. Pure; the
/// stream loop only feeds it.
struct BulkBatchTracker {
    struct Pending {
        let items: [BulkInquiryItem]
        /// Indexed by item_id - 1.
        var results: [Renkei_V1_BulkResult?]
        var answered = 0
        let sentAt: ContinuousClock.Instant
    }

    private(set) var pending: [String: Pending] = [:]
    private var used: Set<String> = []

    /// Batches sent and not complete.
    var outstanding: Int { pending.count }

    /// The request for `items` (item_id = position + 1), recorded as in flight.
    mutating func send(_ items: [BulkInquiryItem], batchID: String, requester: MunicipalityCode, options: BulkInquiryOptions,
                       now: ContinuousClock.Instant, wallClock: Date = Date()) -> Renkei_V1_BulkInquiryRequest {
        var request = Renkei_V1_BulkInquiryRequest()
        request.batchID = batchID
        request.requesterCode = requester.rawValue
        request.purpose = options.purpose
        request.sentAtUnixMillis = Int64(wallClock.timeIntervalSince1970 * 1000)
        request.items = items.enumerated().map { i, item in
            var wire = Renkei_V1_BulkItem()
            wire.itemID = UInt32(i + 1)
            wire.targetCode = item.target.rawValue
            wire.individualNumber = item.number.digits
            wire.consentReference = options.consentReference
            wire.nameKanaHint = item.nameKanaHint
            wire.dateOfBirthHint = item.dateOfBirthHint
            return wire
        }
        pending[batchID] = Pending(items: items, results: Array(repeating: nil, count: items.count), sentAt: now)
        used.insert(batchID)
        return request
    }

    /// Takes one response; returns the batch if this response completed it.
    mutating func receive(_ response: Renkei_V1_BulkInquiryResponse, now: ContinuousClock.Instant) throws(PeerError) -> BulkBatchAnswer? {
        guard var batch = pending[response.batchID] else {
            throw PeerError(.protocolViolation, used.contains(response.batchID)
                ? "the provider answered a batch that was already complete"
                : "the provider answered a batch that was not sent on this stream")
        }
        for result in response.results {
            let id = Int(result.itemID)
            guard id >= 1, id <= batch.items.count else {
                throw PeerError(.protocolViolation, "the provider answered item_id \(id), which the batch does not have")
            }
            guard batch.results[id - 1] == nil else {
                throw PeerError(.protocolViolation, "the provider answered item_id \(id) twice")
            }
            switch result.outcome {
            case .match:
                guard result.hasMatch else { throw PeerError(.protocolViolation, "a MATCH result carries no file") }
            case .noMatch, .invalid:
                break
            case .unspecified, .UNRECOGNIZED:
                throw PeerError(.protocolViolation, "a result has no valid outcome")
            }
            batch.results[id - 1] = result
            batch.answered += 1
        }
        guard response.batchComplete else {
            pending[response.batchID] = batch
            return nil
        }
        guard batch.answered == batch.items.count else {
            throw PeerError(.protocolViolation,
                "the provider completed a batch with \(batch.items.count - batch.answered) of \(batch.items.count) items unanswered")
        }
        pending[response.batchID] = nil
        let answers = zip(batch.items, batch.results).map { BulkItemAnswer(item: $0, result: $1!) }
        return BulkBatchAnswer(batchID: response.batchID, answers: answers, latency: now - batch.sentAt)
    }
}

/// The requester side of `renkei.v1.TransferInquiry/InquireBulk` against one
/// provider node, over mutual TLS with the node's own certificate.
///
/// The provider's certificate is checked in the handshake (federation CA,
/// validity, revocation, the directory's pinned key) and must carry EVERY
/// target code of the items; otherwise the handshake fails and no number is
/// written. Items go out in batches over `streamsPerProvider` streams of one
/// connection, at most `batchesInFlightPerStream` batches in flight per
/// stream, so at most streams × in-flight batches are outstanding at once.
public enum BulkInquiryClient {
    /// Asks the provider at `entry` about `items` (all for codes it hosts).
    /// `onBatch` runs once per completed batch, as it completes (possibly
    /// concurrently for different streams); the stream waits for it, so
    /// what it does applies back-pressure.
    ///
    /// - Throws: `.misrouted` (nothing sent), `.connection`/`.rpc` (the
    ///   provider could not be reached or failed the stream; batches already
    ///   passed to `onBatch` are complete), `.protocolViolation`.
    public static func run(
        _ items: [BulkInquiryItem], requester: MunicipalityCode, entry: DirectoryEntry, targets: [MunicipalityCode],
        config: NodeConfig, trust: PeerTrust, options: BulkInquiryOptions = BulkInquiryOptions(),
        onBatch: @escaping @Sendable (BulkBatchAnswer) async throws -> Void
    ) async throws(PeerError) {
        guard !items.isEmpty else { return }
        let needed = Set(items.map(\.target))
        guard needed.isSubset(of: Set(targets)), let first = targets.first else {
            throw PeerError(.invalidInput, "the items name codes the route does not cover")
        }
        do throws(BrokenRule) {
            try InquiryRules.checkConsentReference(options.consentReference, field: "consent_reference")
        } catch {
            throw PeerError(.invalidInput, error.message)
        }
        try TransferInquiryClient.checkOwnCertificate(carries: requester, config: config, credentials: trust.credentials)
        let failures = HandshakeFailureLog()
        let transport = try makeTransport(entry: entry, firstCode: first, codes: targets, config: config, trust: trust, failures: failures)
        let queue = BatchQueue(items, size: options.batchSize)
        let streams = min(options.streamsPerProvider, queue.count)
        var call = CallOptions.defaults
        call.waitForReady = false
        call.maxResponseMessageBytes = config.limits.maxMessageBytes
        let callOptions = call
        do {
            try await withGRPCClient(transport: transport) { client in
                let stub = Renkei_V1_TransferInquiry.Client(wrapping: client)
                try await withThrowingDiscardingTaskGroup { group in
                    for _ in 0..<streams {
                        group.addTask {
                            try await runStream(stub, queue: queue, requester: requester, options: options,
                                                callOptions: callOptions, onBatch: onBatch)
                        }
                    }
                }
            }
        } catch let error as PeerError {
            if let refused = failures.lastFailure { throw refused }
            throw error
        } catch let error as RPCError {
            if let refused = failures.lastFailure { throw refused }
            throw PeerError.peerCall(error, node: entry.nodeName, codes: targets.map(\.rawValue), endpoint: entry.endpoint)
        } catch {
            if let refused = failures.lastFailure { throw refused }
            throw PeerError(.connection, "the bulk inquiry to \(entry.endpoint) failed", cause: SendableDescription(error))
        }
    }

    /// One InquireBulk stream: sends batches from the shared queue while it
    /// has credit (a free in-flight slot) and hands completed batches on.
    static func runStream(
        _ stub: Renkei_V1_TransferInquiry.Client<HTTP2ClientTransport.Posix>, queue: BatchQueue, requester: MunicipalityCode,
        options: BulkInquiryOptions, callOptions: CallOptions, onBatch: @escaping @Sendable (BulkBatchAnswer) async throws -> Void
    ) async throws {
        let tracker = TrackerBox()
        // One credit per free in-flight slot; a completed batch returns its credit.
        let (credits, credit) = AsyncStream<Void>.makeStream()
        for _ in 0..<options.batchesInFlightPerStream { credit.yield() }
        defer { credit.finish() }
        try await stub.inquireBulk(options: callOptions, requestProducer: { writer in
            for await _ in credits {
                guard let batch = queue.next() else { return }
                let request = tracker.state.withLock {
                    $0.send(batch, batchID: UUID().uuidString.lowercased(), requester: requester, options: options, now: .now)
                }
                try await writer.write(request)
            }
        }) { response in
            for try await message in response.messages {
                let received = tracker.state.withLock { state -> Result<BulkBatchAnswer?, PeerError> in
                    do throws(PeerError) { return .success(try state.receive(message, now: .now)) } catch { return .failure(error) }
                }
                let done = try received.get()
                if let done {
                    try await onBatch(done)
                    credit.yield()
                    // The last batch answered: nothing more will be sent.
                    if queue.isDrained, tracker.state.withLock({ $0.outstanding }) == 0 { credit.finish() }
                }
            }
            let left = tracker.state.withLock { $0.outstanding }
            if left > 0 {
                throw PeerError(.protocolViolation, "the provider ended the stream with \(left) batch(es) incomplete")
            }
        }
    }

    /// The client transport with the in-handshake check that the server's
    /// certificate carries every code in `codes` and has the pinned key.
    static func makeTransport(entry: DirectoryEntry, firstCode: MunicipalityCode, codes: [MunicipalityCode], config: NodeConfig,
                              trust: PeerTrust, failures: HandshakeFailureLog) throws(PeerError) -> HTTP2ClientTransport.Posix {
        // The node's current certificate and key (reloaded and checked) when
        // the trust carries them, so a renewal applies to the next connection.
        let material = try trust.clientMaterial(config: config)
        var tls = HTTP2ClientTransport.Posix.TransportSecurity.TLS(
            certificateChain: material.chain,
            privateKey: material.key,
            serverCertificateVerification: .noHostnameVerification,
            trustRoots: material.roots)
        let verifier = trust.verifier
        let requirement = PeerRequirement(code: firstCode, spkiSHA256: entry.spkiSHA256)
        tls.customVerificationCallback = { certificates, promise in
            let ders: [[UInt8]]
            do {
                ders = try certificates.map { try $0.toDERBytes() }
            } catch {
                failures.record(PeerError(.connection, "the peer's certificate could not be read", cause: SendableDescription(error)))
                promise.succeed(.failed)
                return
            }
            guard let leaf = ders.first else {
                failures.record(PeerError(.connection, "the peer presented no certificate"))
                promise.succeed(.failed)
                return
            }
            Task {
                do throws(PeerError) {
                    let chain = try await PeerVerification.verify(leaf: leaf, intermediates: Array(ders.dropFirst()),
                                                                  verifier: verifier, requirement: requirement)
                    let info: PeerCertificateInfo
                    do throws(PKIError) {
                        info = try PeerCertificateInfo(bytes: leaf, source: "the provider's certificate")
                    } catch {
                        throw PeerError(.connection, error.message, cause: error)
                    }
                    let missing = codes.filter { !info.carries($0) }
                    guard missing.isEmpty else {
                        throw PeerError(.misrouted, "the provider's certificate \(info.name) does not carry "
                            + missing.map(\.rawValue).joined(separator: ", ") + " (the numbers were not sent)")
                    }
                    promise.succeed(.certificateVerified(VerificationMetadata(ValidatedCertificateChain(chain))))
                } catch {
                    failures.record(error)
                    promise.succeed(.failed)
                }
            }
        }
        do {
            return try HTTP2ClientTransport.Posix(
                target: entry.resolvableTarget,
                transportSecurity: .tls(tls),
                config: .defaults { c in
                    c.compression.enabledAlgorithms = .none
                    c.channelDebuggingCallbacks.onCreateTCPConnection = { channel in TLS13Guard.install(on: channel) }
                })
        } catch {
            throw PeerError(.tlsMaterial, "cannot set up TLS to \(entry.endpoint)", cause: SendableDescription(error))
        }
    }
}

/// The batches of one provider run, shared by its streams.
final class BatchQueue: Sendable {
    private let state: Mutex<(batches: [[BulkInquiryItem]], next: Int)>
    let count: Int

    init(_ items: [BulkInquiryItem], size: Int) {
        let batches = stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min($0 + size, items.count)]) }
        count = batches.count
        state = Mutex((batches, 0))
    }

    /// The next unsent batch, or nil when all were handed out.
    func next() -> [BulkInquiryItem]? {
        state.withLock { s in
            guard s.next < s.batches.count else { return nil }
            defer { s.batches[s.next] = []; s.next += 1 }  // the stream's tracker holds it from here
            return s.batches[s.next]
        }
    }

    var isDrained: Bool { state.withLock { $0.next >= $0.batches.count } }
}

/// A stream's tracker, shared by its request producer and response handler.
final class TrackerBox: Sendable {
    let state = Mutex(BulkBatchTracker())
}
