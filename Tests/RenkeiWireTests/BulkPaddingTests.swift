import Foundation
import SwiftProtobuf
import Testing
@testable import RenkeiWire

/// Splitting a batch's results into padded responses.
@Suite("bulk padding")
struct BulkPaddingTests {
    let batchID = "0f8e2a6c-3b1d-4c5e-9a7f-1e2d3c4b5a69"

    func file(doses: Int) -> Renkei_V1_VaccinationFile {
        var file = Renkei_V1_VaccinationFile()
        file.resident.name = "松江　花子"
        file.resident.nameKana = "マツエ　ハナコ"
        file.resident.dateOfBirth = "1980-04-01"
        file.resident.sex = .female
        file.doses = (0..<doses).map { i in
            var d = Renkei_V1_VaccinationDose()
            d.vaccinationDate = "2021-06-01"
            d.doseNumber = Int32(i + 1)
            d.medicalInstitution = "松江市立病院"
            d.lotNumber = "LOT\(i)"
            return d
        }
        return file
    }

    func mixed(_ count: Int) -> [Renkei_V1_BulkResult] {
        (1...count).map { i -> Renkei_V1_BulkResult in
            switch i % 3 {
            case 0: .match(itemID: UInt32(i), file: file(doses: i % 7))
            case 1: .noMatch(itemID: UInt32(i))
            default: .invalid(itemID: UInt32(i), field: "individual_number", rule: "must be 12 digits")
            }
        }
    }

    @Test func encodedSizeEqualsTheSerializedSize() throws {
        for result in mixed(300) + [.noMatch(itemID: 1_000_000), .noMatch(itemID: UInt32.max)] {
            let bytes: [UInt8] = try result.serializedBytes()
            #expect(try BulkPadding.encodedSize(result) == bytes.count)
        }
    }

    @Test func everyResponseIsABucketWithinTheLimitAndOnlyTheLastCompletes() throws {
        let results = mixed(1000)
        for limit in [8 * 1024, 64 * 1024, 4 * 1024 * 1024] {
            let responses = try BulkPadding.responses(batchID: batchID, results: results, maxBytes: limit)
            #expect(limit == 4 * 1024 * 1024 ? responses.count == 1 : responses.count > 1)
            for (i, response) in responses.enumerated() {
                let bytes: [UInt8] = try response.serializedBytes()
                #expect(ResponsePadding.buckets.contains(bytes.count))
                #expect(bytes.count <= limit)
                #expect(response.batchComplete == (i == responses.count - 1))
                #expect(response.batchID == batchID)
            }
            #expect(responses.flatMap(\.results) == results)
        }
    }

    @Test func anEmptyBatchStillCompletes() throws {
        let responses = try BulkPadding.responses(batchID: batchID, results: [])
        #expect(responses.count == 1)
        #expect(responses[0].batchComplete)
        #expect(try wire(responses[0]) == 4096)
    }

    @Test func aResultTooLargeAloneIsRefused() {
        var huge = Renkei_V1_BulkResult.match(itemID: 1, file: file(doses: 1))
        huge.match.resident.name = String(repeating: "x", count: 9000)
        #expect(throws: ResponseTooLarge.self) {
            try BulkPadding.responses(batchID: batchID, results: [huge], maxBytes: 8192)
        }
    }

    func wire(_ m: some SwiftProtobuf.Message) throws -> Int {
        let bytes: [UInt8] = try m.serializedBytes()
        return bytes.count
    }
}
