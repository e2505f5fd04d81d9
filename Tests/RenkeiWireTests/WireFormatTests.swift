import Foundation
import SwiftProtobuf
import Testing
@testable import RenkeiWire

func bytes(hex: String) -> [UInt8] {
    var out: [UInt8] = []
    var iterator = hex.utf8.makeIterator()
    func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x61...0x66: c - 0x61 + 10
        default: preconditionFailure("not lowercase hex")
        }
    }
    while let high = iterator.next() {
        let low = iterator.next()!
        out.append(nibble(high) << 4 | nibble(low))
    }
    return out
}

func hex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for b in bytes { out.append(digits[Int(b >> 4)]); out.append(digits[Int(b & 0xF)]) }
    return String(decoding: out, as: UTF8.self)
}

/// A MATCH dose with every field set, built field by field.
func handBuiltFirstDose() -> Renkei_V1_VaccinationDose {
    var dose = Renkei_V1_VaccinationDose()
    dose.fiscalYear = 2021
    dose.vaccinationDate = "2021-06-01"
    dose.kind = .specialTemporary
    dose.doseNumber = 1
    dose.judgement = .vaccinated
    dose.ageAtVaccination = 71
    dose.ageAtFiscalYearEnd = 71
    dose.medicalInstitution = "松江市立病院"
    dose.place = "松江市立病院"
    dose.implementationCategory = .individual
    dose.screeningDoctor = "山田 一郎"
    dose.vaccinatingDoctor = "山田 一郎"
    dose.vaccinationNumber = "0000123456"
    dose.manufacturer = "ファイザー社"
    dose.lotNumber = "FA4597"
    dose.doseMicroliters = 300
    dose.notes = "特になし"
    dose.vaccinatingMunicipalityCode = "322016"
    dose.vaccinePlatform = .mrna
    dose.productName = "コミナティ筋注"
    return dose
}

func handBuiltFile() -> Renkei_V1_VaccinationFile {
    var resident = Renkei_V1_ResidentSummary()
    resident.name = "松江 太郎"
    resident.nameKana = "マツエ タロウ"
    resident.dateOfBirth = "1950-04-02"
    resident.sex = .male

    var screening = Renkei_V1_VaccinationDose()
    screening.fiscalYear = 2021
    screening.vaccinationDate = "2021-06-22"
    screening.kind = .specialTemporary
    screening.doseNumber = 2
    screening.judgement = .screeningOnly
    screening.ageAtVaccination = 71
    screening.ageAtFiscalYearEnd = 71
    screening.medicalInstitution = "くにびきメッセ"
    screening.place = "くにびきメッセ"
    screening.implementationCategory = .mass
    screening.screeningDoctor = "佐藤 花子"
    screening.reasonNotVaccinated = "発熱"
    screening.vaccinatingMunicipalityCode = "322016"

    var file = Renkei_V1_VaccinationFile()
    file.resident = resident
    file.doses = [handBuiltFirstDose(), screening]
    return file
}

@Suite("renkei.v1 wire format")
struct WireFormatTests {
    @Test("a hand-built inquiry serializes to the frozen bytes protoc produced")
    func requestMatchesFixture() throws {
        var request = Renkei_V1_TransferInquiryRequest()
        request.requestID = "3f2b8c1e-9a4d-4e5f-8b7a-1c2d3e4f5a6b"
        request.requesterCode = "322032"
        request.targetCode = "322016"
        request.individualNumber = "123456789018"
        request.purpose = .transferIn
        request.consentReference = "DOUI-2024-000123"
        request.sentAtUnixMillis = 1_717_200_000_123
        let encoded: [UInt8] = try request.wireBytes()
        #expect(hex(encoded) == Fixtures.transferInquiryRequestHex)
    }

    @Test("a hand-built MATCH (every dose field set) serializes to the frozen bytes")
    func matchMatchesFixture() throws {
        let response = Renkei_V1_TransferInquiryResponse.match(
            requestID: "3f2b8c1e-9a4d-4e5f-8b7a-1c2d3e4f5a6b", file: handBuiltFile())
        let encoded: [UInt8] = try response.wireBytes()
        #expect(hex(encoded) == Fixtures.matchResponseHex)
    }

    @Test("hand-built bulk messages serialize to the frozen bytes")
    func bulkMatchesFixture() throws {
        var first = Renkei_V1_BulkItem()
        first.itemID = 1
        first.targetCode = "322016"
        first.individualNumber = "123456789018"
        first.consentReference = "APP-1"
        first.nameKanaHint = "マツエ タロウ"
        first.dateOfBirthHint = "1950-04-02"
        var second = Renkei_V1_BulkItem()
        second.itemID = 300
        second.targetCode = "322041"
        second.individualNumber = "000000000019"
        second.consentReference = "APP-2"
        var request = Renkei_V1_BulkInquiryRequest()
        request.batchID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        request.requesterCode = "322032"
        request.purpose = .certificate
        request.sentAtUnixMillis = 1_717_200_000_456
        request.items = [first, second]
        #expect(hex(try request.wireBytes()) == Fixtures.bulkInquiryRequestHex)

        var file = Renkei_V1_VaccinationFile()
        file.resident = handBuiltFile().resident
        var response = Renkei_V1_BulkInquiryResponse()
        response.batchID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        response.results = [
            .match(itemID: 1, file: file),
            .noMatch(itemID: 300),
            .invalid(itemID: 301, field: "individual_number", rule: "must be exactly 12 digits"),
        ]
        response.batchComplete = true
        #expect(hex(try response.wireBytes()) == Fixtures.bulkInquiryResponseHex)
    }

    @Test("a hand-built health answer serializes to the frozen bytes")
    func healthMatchesFixture() throws {
        var response = Renkei_V1_HealthCheckResponse()
        response.status = .serving
        response.protocolVersions = [WireLimits.protocolVersion]
        #expect(hex(try response.wireBytes()) == Fixtures.healthCheckResponseHex)
    }

    @Test("text format, Swift's binary encoding and protoc's binary encoding agree")
    func textAndBinaryAgree() throws {
        try check(Renkei_V1_TransferInquiryRequest.self, Fixtures.transferInquiryRequestText, Fixtures.transferInquiryRequestHex)
        try check(Renkei_V1_TransferInquiryResponse.self, Fixtures.matchResponseText, Fixtures.matchResponseHex)
        try check(Renkei_V1_BulkInquiryRequest.self, Fixtures.bulkInquiryRequestText, Fixtures.bulkInquiryRequestHex)
        try check(Renkei_V1_BulkInquiryResponse.self, Fixtures.bulkInquiryResponseText, Fixtures.bulkInquiryResponseHex)
        try check(Renkei_V1_HealthCheckResponse.self, Fixtures.healthCheckResponseText, Fixtures.healthCheckResponseHex)
    }

    private func check<M: SwiftProtobuf.Message & Equatable>(_: M.Type, _ text: String, _ hexFixture: String) throws {
        let fromText = try M(textFormatString: text)
        let fromBinary = try M(serializedBytes: bytes(hex: hexFixture))
        #expect(fromText == fromBinary, "\(M.protoMessageName): text and protoc's bytes decode differently")
        #expect(hex(try fromText.wireBytes()) == hexFixture, "\(M.protoMessageName): Swift encodes differently from protoc")
        #expect(fromBinary.unknownFields.data.isEmpty, "\(M.protoMessageName): fixture has fields this schema does not know")
    }

    @Test("every message round-trips through binary serialization")
    func roundTrips() throws {
        let file = handBuiltFile()
        try roundTrip(file)
        try roundTrip(file.resident)
        try roundTrip(handBuiltFirstDose())
        var match = Renkei_V1_TransferInquiryResponse.match(requestID: UUID().uuidString.lowercased(), file: file)
        try match.applyPadding()
        try roundTrip(match)
        var noMatch = Renkei_V1_TransferInquiryResponse.noMatch(requestID: UUID().uuidString.lowercased())
        try noMatch.applyPadding()
        try roundTrip(noMatch)
        try roundTrip(try Renkei_V1_TransferInquiryRequest(textFormatString: Fixtures.transferInquiryRequestText))
        try roundTrip(try Renkei_V1_BulkInquiryRequest(textFormatString: Fixtures.bulkInquiryRequestText))
        var bulk = try Renkei_V1_BulkInquiryResponse(textFormatString: Fixtures.bulkInquiryResponseText)
        try bulk.applyPadding()
        try roundTrip(bulk)
        try roundTrip(Renkei_V1_HealthCheckRequest())
        try roundTrip(try Renkei_V1_HealthCheckResponse(textFormatString: Fixtures.healthCheckResponseText))
    }

    private func roundTrip<M: SwiftProtobuf.Message & Equatable>(_ message: M) throws {
        let encoded: [UInt8] = try message.wireBytes()
        let decoded = try M(serializedBytes: encoded)
        #expect(decoded == message, "\(M.protoMessageName) did not round-trip")
        // Deterministic: encoding the decoded message gives the same bytes.
        #expect(try decoded.wireBytes() == encoded)
    }

    @Test("a NO_MATCH carries only request_id and outcome")
    func noMatchShape() throws {
        let response = Renkei_V1_TransferInquiryResponse.noMatch(requestID: "3f2b8c1e-9a4d-4e5f-8b7a-1c2d3e4f5a6b")
        #expect(!response.hasMatch)
        #expect(response.outcome == .noMatch)
        // Field 1 (36-byte string) and field 2 (enum 2), nothing else.
        #expect(hex(try response.wireBytes()) == "0a24" + hex(Array("3f2b8c1e-9a4d-4e5f-8b7a-1c2d3e4f5a6b".utf8)) + "1002")
        let bulk = Renkei_V1_BulkResult.noMatch(itemID: 7)
        #expect(hex(try bulk.wireBytes()) == "08071002")
    }
}

extension SwiftProtobuf.Message {
    /// The binary encoding as bytes (serializedBytes() is generic over its result).
    func wireBytes() throws -> [UInt8] { try serializedBytes() }
}
