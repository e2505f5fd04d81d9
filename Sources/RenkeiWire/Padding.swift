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
