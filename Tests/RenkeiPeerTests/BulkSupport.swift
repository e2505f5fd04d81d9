import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import RenkeiCore
import RenkeiWire
@testable import RenkeiPeer

/// What one raw InquireBulk stream received: every response in order, and
/// the error that ended the stream, if any.
struct BulkOutcome: Sendable {
    var responses: [Renkei_V1_BulkInquiryResponse] = []
    var error: RPCError?

    /// Results by item_id, over every response.
    func results(of batchID: String) -> [UInt32: Renkei_V1_BulkResult] {
        var out: [UInt32: Renkei_V1_BulkResult] = [:]
        for r in responses where r.batchID == batchID {
            for result in r.results { out[result.itemID] = result }
        }
        return out
    }

    /// Batch IDs in the order their batch_complete arrived.
    var completed: [String] { responses.filter(\.batchComplete).map(\.batchID) }
}

/// A raw InquireBulk stream over the requester's verified transport: sends
/// `batches` (then waits for `hold`, if given, before half-closing) and
/// collects every response. Status errors end up in `BulkOutcome.error`.
func rawBulk(_ batches: [Renkei_V1_BulkInquiryRequest], route: PeerRoute, config: NodeConfig,
             timeout: Duration = .seconds(300), hold: Gate? = nil,
             onResponse: (@Sendable (Renkei_V1_BulkInquiryResponse) -> Void)? = nil) async throws -> BulkOutcome {
    let trust = try PeerTrust.load(config)
    let transport = try TransferInquiryClient.makeTransport(route: route, config: config, trust: trust, failures: HandshakeFailureLog())
    var options = CallOptions.defaults
    options.timeout = timeout
    options.waitForReady = false
    options.maxRequestMessageBytes = 16 * 1024 * 1024
    options.maxResponseMessageBytes = 16 * 1024 * 1024
    do {
        return try await call(batches, transport: transport, options: options, hold: hold, onResponse: onResponse)
    } catch let error as RPCError {
        return BulkOutcome(responses: [], error: error)
    }
}

private func call(_ batches: [Renkei_V1_BulkInquiryRequest], transport: HTTP2ClientTransport.Posix, options: CallOptions,
                  hold: Gate?, onResponse: (@Sendable (Renkei_V1_BulkInquiryResponse) -> Void)?) async throws -> BulkOutcome {
    try await withGRPCClient(transport: transport) { client in
        try await Renkei_V1_TransferInquiry.Client(wrapping: client).inquireBulk(options: options, requestProducer: { writer in
            for batch in batches {
                // The server may fail the stream before it has read them all.
                do { try await writer.write(batch) } catch { return }
            }
            if let hold { await hold.wait() }
        }, onResponse: { response in
            var outcome = BulkOutcome()
            do {
                for try await message in response.messages {
                    outcome.responses.append(message)
                    onResponse?(message)
                }
            } catch let error as RPCError {
                outcome.error = error
            }
            return outcome
        })
    }
}

/// A one-shot signal between tasks.
final class Gate: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    init() { (stream, continuation) = AsyncStream.makeStream(of: Void.self) }
    func open() { continuation.finish() }
    func wait() async { for await _ in stream {} }
}

/// A batch of `items` from `requester`.
func bulkBatch(_ items: [Renkei_V1_BulkItem], requester: MunicipalityCode = izumo,
               batchID: String = UUID().uuidString.lowercased()) -> Renkei_V1_BulkInquiryRequest {
    var r = Renkei_V1_BulkInquiryRequest()
    r.batchID = batchID
    r.requesterCode = requester.rawValue
    r.purpose = .transferIn
    r.sentAtUnixMillis = Int64(Date().timeIntervalSince1970 * 1000)
    r.items = items
    return r
}

/// One item about `number` (digits as given, checked or not) at `target`.
func bulkItem(_ id: UInt32, _ number: String, target: MunicipalityCode = matsue,
              kana: String = "", dateOfBirth: String = "") -> Renkei_V1_BulkItem {
    var item = Renkei_V1_BulkItem()
    item.itemID = id
    item.targetCode = target.rawValue
    item.individualNumber = number
    item.consentReference = "consent-\(id)"
    item.nameKanaHint = kana
    item.dateOfBirthHint = dateOfBirth
    return item
}

/// Valid Individual Numbers that no synthetic resident has (a prefix the
/// generator does not use is not guaranteed, so callers check).
func unknownNumber(_ i: Int) throws -> IndividualNumber {
    try IndividualNumber.completing(firstEleven: String(format: "9%010d", i))
}
