import Foundation
import SwiftProtobuf

/// The bucket rule that pads every TransferInquiryResponse and
/// BulkInquiryResponse (field 15, `padding`), so that an observer of the
/// encrypted stream learns a size bucket, never an outcome or its reason.
///
/// Buckets are 4096·2ᵏ bytes, k = 0…10 (4 KiB … 4 MiB). With n the serialized
/// size of the response with `padding` empty, the first bucket B for which
/// some p ≥ 1 satisfies p + len(varint(p)) = B − n − 1 wins, and `padding` is
/// p zero bytes: the padded response is exactly B bytes (the 1 is the tag
/// byte 0x7A of field 15).
public enum ResponsePadding {
    /// The field number of `padding` in both padded responses. It must stay
    /// at most 15 so that its tag is a single byte.
    public static let fieldNumber = 15
    /// 4 KiB, 8 KiB, …, 4 MiB.
    public static let buckets: [Int] = (0...10).map { 4_096 << $0 }

    /// The bucket a response of `unpaddedSize` bytes is padded to and the
    /// padding length that gets it there, or nil if no bucket fits (the
    /// response must be split or is too large for the contract).
    public static func plan(unpaddedSize n: Int) -> (bucket: Int, paddingLength: Int)? {
        precondition(n >= 0)
        for bucket in buckets {
            let r = bucket - n - 1
            // p + varintLength(p) == r; the varint of p ≤ 4 MiB has 1-4 bytes.
            for k in 1...4 {
                let p = r - k
                if p >= 1, varintLength(p) == k { return (bucket, p) }
            }
        }
        return nil
    }

    /// Bytes in the base-128 varint encoding of a non-negative value.
    static func varintLength(_ value: Int) -> Int {
        var v = UInt64(value), n = 1
        while v >= 0x80 { v >>= 7; n += 1 }
        return n
    }
}

/// Thrown when a response does not fit the largest bucket (4 MiB).
public struct ResponseTooLarge: Error, Sendable, CustomStringConvertible {
    public let unpaddedSize: Int
    public var description: String {
        "response of \(unpaddedSize) bytes does not fit the largest padding bucket of \(ResponsePadding.buckets.last!) bytes"
    }
}

/// A response carrying the `padding` field of the bucket rule.
public protocol PaddedResponse: SwiftProtobuf.Message {
    var padding: Data { get set }
}

extension Renkei_V1_TransferInquiryResponse: PaddedResponse {}
extension Renkei_V1_BulkInquiryResponse: PaddedResponse {}

extension PaddedResponse {
    /// Sets `padding` by the bucket rule (replacing any padding already set)
    /// and returns the bucket, which is then the exact serialized size.
    @discardableResult
    public mutating func applyPadding() throws -> Int {
        padding = Data()
        let unpadded: [UInt8] = try serializedBytes()
        guard let plan = ResponsePadding.plan(unpaddedSize: unpadded.count) else {
            throw ResponseTooLarge(unpaddedSize: unpadded.count)
        }
        padding = Data(count: plan.paddingLength)
        return plan.bucket
    }
}

extension Renkei_V1_TransferInquiryResponse {
    /// A NO_MATCH: only the request ID and the outcome. It takes no reason,
    /// so none can leak into it. Call `applyPadding()` before sending.
    public static func noMatch(requestID: String) -> Self {
        var response = Self()
        response.requestID = requestID
        response.outcome = .noMatch
        return response
    }

    /// A MATCH carrying the person's file. Call `applyPadding()` before sending.
    public static func match(requestID: String, file: Renkei_V1_VaccinationFile) -> Self {
        var response = Self()
        response.requestID = requestID
        response.outcome = .match
        response.match = file
        return response
    }
}

extension Renkei_V1_BulkResult {
    /// A NO_MATCH result: only the item ID and the outcome.
    public static func noMatch(itemID: UInt32) -> Self {
        var result = Self()
        result.itemID = itemID
        result.outcome = .noMatch
        return result
    }

    /// An INVALID result naming the field and the rule, never the value.
    public static func invalid(itemID: UInt32, field: String, rule: String) -> Self {
        var result = Self()
        result.itemID = itemID
        result.outcome = .invalid
        result.invalidField = "\(field): \(rule)"
        return result
    }

    /// A MATCH result carrying the person's file.
    public static func match(itemID: UInt32, file: Renkei_V1_VaccinationFile) -> Self {
        var result = Self()
        result.itemID = itemID
        result.outcome = .match
        result.match = file
        return result
    }
}

/// Splitting one batch's results into padded `BulkInquiryResponse` messages,
/// each at most a given size after padding, by the same bucket rule.
///
/// Sizes are computed from each result's encoded size rather than by
/// encoding every candidate response: only MATCH results are encoded to be
/// measured (a NO_MATCH or INVALID has a closed form), so the cost is one
/// extra encode of each file, not of each response.
public enum BulkPadding {
    /// The serialized size of a result (as an element of `results`, without
    /// its tag and length).
    public static func encodedSize(_ result: Renkei_V1_BulkResult) throws -> Int {
        if result.hasMatch || !result.unknownFields.data.isEmpty {
            let bytes: [UInt8] = try result.serializedBytes()
            return bytes.count
        }
        var n = 0
        if result.itemID != 0 { n += 1 + ResponsePadding.varintLength(Int(result.itemID)) }
        let outcome = result.outcome.rawValue
        if outcome != 0 { n += 1 + ResponsePadding.varintLength(outcome) }
        let field = result.invalidField.utf8.count
        if field != 0 { n += 1 + ResponsePadding.varintLength(field) + field }
        return n
    }

    /// The padded responses carrying `results` for `batchID`, in order, each
    /// at most `maxBytes` (and 4 MiB) after padding; only the last has
    /// `batch_complete`. An empty `results` gives one response (the batch's
    /// completion).
    ///
    /// - Throws: `ResponseTooLarge` if a single result does not fit alone.
    public static func responses(batchID: String, results: [Renkei_V1_BulkResult],
                                 maxBytes: Int = ResponsePadding.buckets.last!) throws -> [Renkei_V1_BulkInquiryResponse] {
        let largest = ResponsePadding.buckets.last(where: { $0 <= maxBytes }) ?? ResponsePadding.buckets[0]
        // Whether a response of unpadded size n pads to a bucket within the
        // limit (a few sizes just under a bucket have no padding length that
        // lands on it and move up a bucket).
        func fits(_ n: Int) -> Bool { ResponsePadding.plan(unpaddedSize: n).map { $0.bucket <= largest } ?? false }
        let idLength = batchID.utf8.count
        let header = idLength == 0 ? 0 : 1 + ResponsePadding.varintLength(idLength) + idLength
        let completeFlag = 2  // tag 0x18 and 0x01
        var out: [Renkei_V1_BulkInquiryResponse] = []
        var current = Renkei_V1_BulkInquiryResponse()
        current.batchID = batchID
        var size = header
        func flush(complete: Bool) throws {
            current.batchComplete = complete
            let unpadded = size + (complete ? completeFlag : 0)
            guard let plan = ResponsePadding.plan(unpaddedSize: unpadded), plan.bucket <= largest else {
                throw ResponseTooLarge(unpaddedSize: unpadded)
            }
            current.padding = Data(count: plan.paddingLength)
            assert((try? current.serializedBytes() as [UInt8])?.count == plan.bucket, "bulk response size computed wrongly")
            out.append(current)
            current = Renkei_V1_BulkInquiryResponse()
            current.batchID = batchID
            size = header
        }
        // Whether it is the last is known only later: a response must fit
        // both with and without batch_complete.
        func fitsEither(_ n: Int) -> Bool { fits(n) && fits(n + completeFlag) }
        for result in results {
            let length = try encodedSize(result)
            let entry = 1 + ResponsePadding.varintLength(length) + length
            if !fitsEither(size + entry), !current.results.isEmpty {
                try flush(complete: false)
            }
            guard fitsEither(size + entry) else { throw ResponseTooLarge(unpaddedSize: size + entry) }
            current.results.append(result)
            size += entry
        }
        try flush(complete: true)
        return out
    }
}
