import Testing
@testable import RenkeiWire

@Suite("renkei.v1 service descriptors")
struct ServiceDescriptorTests {
    @Test("TransferInquiry has exactly Inquire and InquireBulk")
    func transferInquiry() {
        #expect(Renkei_V1_TransferInquiry.descriptor.fullyQualifiedService == "renkei.v1.TransferInquiry")
        #expect(Renkei_V1_TransferInquiry.Method.Inquire.descriptor.fullyQualifiedMethod == "renkei.v1.TransferInquiry/Inquire")
        #expect(Renkei_V1_TransferInquiry.Method.InquireBulk.descriptor.fullyQualifiedMethod == "renkei.v1.TransferInquiry/InquireBulk")
        #expect(Renkei_V1_TransferInquiry.Method.descriptors.map(\.fullyQualifiedMethod).sorted() == [
            "renkei.v1.TransferInquiry/Inquire", "renkei.v1.TransferInquiry/InquireBulk",
        ])
    }

    @Test("Health has exactly Check")
    func health() {
        #expect(Renkei_V1_Health.descriptor.fullyQualifiedService == "renkei.v1.Health")
        #expect(Renkei_V1_Health.Method.descriptors.map(\.fullyQualifiedMethod) == ["renkei.v1.Health/Check"])
    }

    @Test("messages carry their renkei.v1 names")
    func messageNames() {
        #expect(Renkei_V1_TransferInquiryRequest.protoMessageName == "renkei.v1.TransferInquiryRequest")
        #expect(Renkei_V1_TransferInquiryResponse.protoMessageName == "renkei.v1.TransferInquiryResponse")
        #expect(Renkei_V1_BulkInquiryRequest.protoMessageName == "renkei.v1.BulkInquiryRequest")
        #expect(Renkei_V1_BulkInquiryResponse.protoMessageName == "renkei.v1.BulkInquiryResponse")
        #expect(Renkei_V1_VaccinationDose.protoMessageName == "renkei.v1.VaccinationDose")
    }
}
