// Frozen wire fixtures for renkei.v1. DO NOT REGENERATE to make a test pass.
//
// Each fixture is a message in protobuf text format and its binary encoding as
// produced by Debian's protoc 3.21 (the C++ implementation), not by Swift:
//
//   protoc -I Sources/RenkeiWire/Protos --encode=renkei.v1.<Message> \
//       Sources/RenkeiWire/Protos/renkei/v1/*.proto < fixture.txtpb | xxd -p
//
// A test that fails against these bytes means a field number, type or enum
// value changed: that breaks every peer already deployed. Such a change needs
// a new package (renkei.v2), not a new fixture.

enum Fixtures {
    // MARK: renkei.v1.TransferInquiryRequest

    static let transferInquiryRequestText = """
        request_id: "3f2b8c1e-9a4d-4e5f-8b7a-1c2d3e4f5a6b"
        requester_code: "322032"
        target_code: "322016"
        individual_number: "123456789018"
        purpose: PURPOSE_TRANSFER_IN
        consent_reference: "DOUI-2024-000123"
        sent_at_unix_millis: 1717200000123
        """

    static let transferInquiryRequestHex = [
        "0a2433663262386331652d396134642d346535662d386237612d31633264336534663561366212063332323033321a06",
        "333232303136220c31323334353637383930313828013210444f55492d323032342d30303031323338fba8e288fd31",
    ].joined()

    // MARK: renkei.v1.TransferInquiryResponse (MATCH, unpadded)

    static let matchResponseText = """
        request_id: "3f2b8c1e-9a4d-4e5f-8b7a-1c2d3e4f5a6b"
        outcome: OUTCOME_MATCH
        match {
          resident {
            name: "松江 太郎"
            name_kana: "マツエ タロウ"
            date_of_birth: "1950-04-02"
            sex: SEX_MALE
          }
          doses {
            fiscal_year: 2021
            vaccination_date: "2021-06-01"
            kind: VACCINATION_KIND_SPECIAL_TEMPORARY
            dose_number: 1
            judgement: VACCINATION_JUDGEMENT_VACCINATED
            age_at_vaccination: 71
            age_at_fiscal_year_end: 71
            medical_institution: "松江市立病院"
            place: "松江市立病院"
            implementation_category: IMPLEMENTATION_CATEGORY_INDIVIDUAL
            screening_doctor: "山田 一郎"
            vaccinating_doctor: "山田 一郎"
            vaccination_number: "0000123456"
            manufacturer: "ファイザー社"
            lot_number: "FA4597"
            dose_microliters: 300
            notes: "特になし"
            vaccinating_municipality_code: "322016"
            vaccine_platform: VACCINE_PLATFORM_MRNA
            product_name: "コミナティ筋注"
          }
          doses {
            fiscal_year: 2021
            vaccination_date: "2021-06-22"
            kind: VACCINATION_KIND_SPECIAL_TEMPORARY
            dose_number: 2
            judgement: VACCINATION_JUDGEMENT_SCREENING_ONLY
            age_at_vaccination: 71
            age_at_fiscal_year_end: 71
            medical_institution: "くにびきメッセ"
            place: "くにびきメッセ"
            implementation_category: IMPLEMENTATION_CATEGORY_MASS
            screening_doctor: "佐藤 花子"
            reason_not_vaccinated: "発熱"
            vaccinating_municipality_code: "322016"
          }
        }
        """

    static let matchResponseHex = [
        "0a2433663262386331652d396134642d346535662d386237612d31633264336534663561366210011ae3020a320a0de6",
        "9dbee6b19f20e5a4aae9838e1213e3839ee38384e382a820e382bfe383ade382a61a0a313935302d30342d3032200112",
        "c00108e50f120a323032312d30362d3031180120012801304738474212e69dbee6b19fe5b882e7ab8be79785e999a24a",
        "12e69dbee6b19fe5b882e7ab8be79785e999a250015a0de5b1b1e794b020e4b880e9838e620de5b1b1e794b020e4b880",
        "e9838e6a0a303030303132333435367212e38395e382a1e382a4e382b6e383bce7a4be7a064641343539378001ac0292",
        "010ce789b9e381abe381aae381979a0106333232303136a00101aa0115e382b3e3839fe3838ae38386e382a3e7ad8be6",
        "b3a8126a08e50f120a323032312d30362d3232180120022802304738474215e3818fe381abe381b3e3818de383a1e383",
        "83e382bb4a15e3818fe381abe381b3e3818de383a1e38383e382bb50025a0de4bd90e897a420e88ab1e5ad908a0106e7",
        "99bae786b19a0106333232303136",
    ].joined()

    // MARK: renkei.v1.BulkInquiryRequest

    static let bulkInquiryRequestText = """
        batch_id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        requester_code: "322032"
        purpose: PURPOSE_CERTIFICATE
        sent_at_unix_millis: 1717200000456
        items {
          item_id: 1
          target_code: "322016"
          individual_number: "123456789018"
          consent_reference: "APP-1"
          name_kana_hint: "マツエ タロウ"
          date_of_birth_hint: "1950-04-02"
        }
        items {
          item_id: 300
          target_code: "322041"
          individual_number: "000000000019"
          consent_reference: "APP-2"
        }
        """

    static let bulkInquiryRequestHex = [
        "0a2430613162326333642d346535662d346136622d386337642d39653066316132623363346412063332323033321802",
        "20c8abe288fd312a40080112063332323031361a0c31323334353637383930313822054150502d312a13e3839ee38384",
        "e382a820e382bfe383ade382a6320a313935302d30342d30322a2008ac0212063332323034311a0c3030303030303030",
        "3030313922054150502d32",
    ].joined()

    // MARK: renkei.v1.BulkInquiryResponse (unpadded)

    static let bulkInquiryResponseText = """
        batch_id: "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
        results {
          item_id: 1
          outcome: BULK_OUTCOME_MATCH
          match {
            resident {
              name: "松江 太郎"
              name_kana: "マツエ タロウ"
              date_of_birth: "1950-04-02"
              sex: SEX_MALE
            }
          }
        }
        results {
          item_id: 300
          outcome: BULK_OUTCOME_NO_MATCH
        }
        results {
          item_id: 301
          outcome: BULK_OUTCOME_INVALID
          invalid_field: "individual_number: must be exactly 12 digits"
        }
        batch_complete: true
        """

    static let bulkInquiryResponseHex = [
        "0a2430613162326333642d346535662d346136622d386337642d396530663161326233633464123a0801100122340a32",
        "0a0de69dbee6b19f20e5a4aae9838e1213e3839ee38384e382a820e382bfe383ade382a61a0a313935302d30342d3032",
        "2001120508ac021002123308ad0210031a2c696e646976696475616c5f6e756d6265723a206d75737420626520657861",
        "63746c79203132206469676974731801",
    ].joined()

    // MARK: renkei.v1.HealthCheckResponse

    static let healthCheckResponseText = """
        status: SERVING_STATUS_SERVING
        protocol_versions: "renkei.v1"
        """

    static let healthCheckResponseHex = [
        "0801120972656e6b65692e7631",
    ].joined()
}
