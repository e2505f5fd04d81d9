import Foundation
import SwiftProtobuf
import Testing
@testable import RenkeiWire

/// Just enough of a provider to produce NO_MATCH for each reason the contract
/// names: the real lookup lives in the node, but it must build its answers
/// with these constructors and this padding.
private struct ToyProvider {
    /// target code -> individual number -> file
    var tenants: [String: [String: Renkei_V1_VaccinationFile]]

    func answer(_ request: Renkei_V1_TransferInquiryRequest) throws -> Renkei_V1_TransferInquiryResponse {
        var response: Renkei_V1_TransferInquiryResponse
        if let file = tenants[request.targetCode]?[request.individualNumber] {
            response = .match(requestID: request.requestID, file: file)
        } else {
            response = .noMatch(requestID: request.requestID)
        }
        try response.applyPadding()
        return response
    }
}

private func request(id: String, target: String, number: String) -> Renkei_V1_TransferInquiryRequest {
    var request = Renkei_V1_TransferInquiryRequest()
    request.requestID = id
    request.requesterCode = "322032"
    request.targetCode = target
    request.individualNumber = number
    request.purpose = .transferIn
    request.consentReference = "DOUI-1"
    request.sentAtUnixMillis = 1_717_200_000_000
    return request
}

@Suite("response padding")
struct PaddingTests {
    private let provider = ToyProvider(tenants: [
        "322016": ["123456789018": handBuiltFile()],  // 松江市, hosted
        "322041": [:],                                // 浜田市, hosted, nobody asked for
    ])

    @Test("NO_MATCH for a wrong code, an unhosted tenant and an unknown number: same size, same bytes")
    func noMatchIsIndistinguishable() throws {
        let id = "3f2b8c1e-9a4d-4e5f-8b7a-1c2d3e4f5a6b"
        // The person exists in 322016, but the requester named 322041.
        let wrongCode = try provider.answer(request(id: id, target: "322041", number: "123456789018"))
        // This node does not host 322032 at all.
        let notHosted = try provider.answer(request(id: id, target: "322032", number: "123456789018"))
        // The right tenant, but nobody has this number.
        let unknownNumber = try provider.answer(request(id: id, target: "322016", number: "000000000019"))

        let encoded: [[UInt8]] = try [wrongCode, notHosted, unknownNumber].map { try $0.wireBytes() }
        #expect(encoded.map(\.count) == [4_096, 4_096, 4_096])
        #expect(encoded[0] == encoded[1] && encoded[1] == encoded[2])
        for response in [wrongCode, notHosted, unknownNumber] {
            #expect(response.outcome == .noMatch)
            #expect(!response.hasMatch)
        }

        // Different request IDs (always 36 characters) do not change the size.
        var sizes = Set<Int>()
        for target in ["322041", "322032", "322016"] {
            let fresh = request(id: UUID().uuidString.lowercased(), target: target, number: "000000000019")
            sizes.insert(try provider.answer(fresh).wireBytes().count)
        }
        #expect(sizes == [4_096])
    }

    @Test("a small MATCH is padded to the same bucket as a NO_MATCH")
    func smallMatchSharesTheBucket() throws {
        let match = try provider.answer(request(id: UUID().uuidString.lowercased(), target: "322016", number: "123456789018"))
        #expect(match.outcome == .match)
        #expect(try match.wireBytes().count == 4_096)

        // Eight doses, long texts: still one bucket for the usual case.
        var file = handBuiltFile()
        file.doses = Array(repeating: handBuiltFirstDose(), count: 8)
        var big = Renkei_V1_TransferInquiryResponse.match(requestID: UUID().uuidString.lowercased(), file: file)
        #expect(try big.applyPadding() == 4_096)
        #expect(try big.wireBytes().count == 4_096)
    }

    @Test("the bucket rule's arithmetic gives exactly the bucket, in the smallest possible bucket")
    func planArithmetic() {
        #expect(ResponsePadding.buckets.first == 4_096)
        #expect(ResponsePadding.buckets.last == WireLimits.maxMessageBytes)
        // Every size up to 70,000 bytes, the third no-solution point
        // (n = 4 MiB - 1 - 2,097,155) and the top of the last bucket.
        let sizes = Array(0..<70_000) + Array(2_096_000...2_098_500)
            + Array((WireLimits.maxMessageBytes - 10)...WireLimits.maxMessageBytes)
        for n in sizes {
            guard let plan = ResponsePadding.plan(unpaddedSize: n) else {
                // Only a response too large for the last bucket has no plan.
                #expect(n > WireLimits.maxMessageBytes - 3, "no plan for \(n)")
                continue
            }
            let total = n + 1 + ResponsePadding.varintLength(plan.paddingLength) + plan.paddingLength
            #expect(total == plan.bucket, "n=\(n)")
            #expect(plan.paddingLength >= 1)
            // The smallest bucket that can hold it, unless r had no solution.
            let smallest = ResponsePadding.buckets.first { $0 >= n + 3 }!
            if plan.bucket != smallest {
                let r = smallest - n - 1
                #expect([129, 16_386, 2_097_155].contains(r), "n=\(n) skipped bucket \(smallest)")
            }
        }
    }

    @Test("serialized sizes equal the bucket across bucket edges and the no-solution cases")
    func serializedSizesAcrossEdges() throws {
        // invalid_field's length steers the unpadded size one byte at a time.
        let base = try Renkei_V1_BulkInquiryResponse(textFormatString: Fixtures.bulkInquiryResponseText)
        let baseSize = try base.wireBytes().count
        let targets = Array(3_900...4_100) + Array(8_000...8_200) + Array(16_300...16_400)
        var seen = Set<Int>()
        for target in targets {
            var response = base
            response.results[2].invalidField = String(repeating: "x", count: max(0, target - baseSize - 2))
            let n = try response.wireBytes().count
            guard seen.insert(n).inserted else { continue }
            let bucket = try response.applyPadding()
            let padded: [UInt8] = try response.wireBytes()
            #expect(padded.count == bucket, "unpadded \(n)")
            #expect(bucket >= n + 3)
            #expect(response.padding.allSatisfy { $0 == 0 })
            // The receiver sees the same message, padding aside.
            var decoded = try Renkei_V1_BulkInquiryResponse(serializedBytes: padded)
            decoded.padding = Data()
            var unpadded = response
            unpadded.padding = Data()
            #expect(decoded == unpadded)
        }
        // The sweep crossed the no-solution point r = 129 of the first bucket.
        #expect(seen.contains(4_096 - 1 - 129))
    }

    @Test("applying padding twice gives the same bytes")
    func idempotent() throws {
        var response = Renkei_V1_TransferInquiryResponse.noMatch(requestID: UUID().uuidString.lowercased())
        try response.applyPadding()
        let once: [UInt8] = try response.wireBytes()
        try response.applyPadding()
        #expect(try response.wireBytes() == once)
    }

    @Test("a response larger than the last bucket is refused")
    func tooLarge() throws {
        var response = Renkei_V1_BulkInquiryResponse()
        response.batchID = UUID().uuidString.lowercased()
        response.results = [.invalid(itemID: 1, field: "x", rule: String(repeating: "y", count: WireLimits.maxMessageBytes))]
        #expect(throws: ResponseTooLarge.self) { try response.applyPadding() }
    }
}
