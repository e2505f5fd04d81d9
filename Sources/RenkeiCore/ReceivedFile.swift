/// One dose (or screening) of a file received from another municipality:
/// the items of the wire's `VaccinationDose` (renkei.v1), no more.
///
/// Mirrors the contract rather than `VaccinationRecord`: a received dose has
/// no 宛名番号 of ours, and the provider deliberately does not send billing,
/// VRS bookkeeping or certificate items. Kept free of any wire type so the
/// store does not depend on gRPC; the peer layer maps between the two.
public struct ReceivedDose: Sendable, Hashable {
    /// 1. 西暦年度
    public var fiscalYear: Int
    /// 3. 接種・予診日
    public var vaccinationDate: LocalDate
    /// 4. 接種種別
    public var kind: VaccinationKind
    /// 5. 接種回数
    public var doseNumber: Int
    /// 6. 接種判定
    public var judgement: VaccinationJudgement
    /// 7. 接種日年齢
    public var ageAtVaccination: Int
    /// 8. 年度末年齢
    public var ageAtFiscalYearEnd: Int
    /// 10. 実施医療機関
    public var medicalInstitution: String
    /// 11. 実施場所
    public var place: String
    /// 12. 実施区分
    public var implementationCategory: ImplementationCategory
    /// 13. 問診医
    public var screeningDoctor: String
    /// 14. 接種医
    public var vaccinatingDoctor: String?
    /// 15. 接種番号
    public var vaccinationNumber: String?
    /// 16. メーカー
    public var manufacturer: String?
    /// 17. Lot.No.
    public var lotNumber: String?
    /// 18. 接種量, in microlitres.
    public var doseMicroliters: Int?
    /// 19. 未接種理由
    public var reasonNotVaccinated: String?
    /// 20. 特記事項
    public var notes: String?
    /// 21. 接種自治体コード
    public var vaccinatingMunicipality: MunicipalityCode
    /// 24. ワクチン種類
    public var vaccinePlatform: VaccinePlatform?
    /// 25. 製品名
    public var productName: String?

    public init(
        fiscalYear: Int, vaccinationDate: LocalDate, kind: VaccinationKind, doseNumber: Int,
        judgement: VaccinationJudgement, ageAtVaccination: Int, ageAtFiscalYearEnd: Int,
        medicalInstitution: String, place: String, implementationCategory: ImplementationCategory,
        screeningDoctor: String, vaccinatingDoctor: String? = nil, vaccinationNumber: String? = nil,
        manufacturer: String? = nil, lotNumber: String? = nil, doseMicroliters: Int? = nil,
        reasonNotVaccinated: String? = nil, notes: String? = nil, vaccinatingMunicipality: MunicipalityCode,
        vaccinePlatform: VaccinePlatform? = nil, productName: String? = nil
    ) {
        self.fiscalYear = fiscalYear
        self.vaccinationDate = vaccinationDate
        self.kind = kind
        self.doseNumber = doseNumber
        self.judgement = judgement
        self.ageAtVaccination = ageAtVaccination
        self.ageAtFiscalYearEnd = ageAtFiscalYearEnd
        self.medicalInstitution = medicalInstitution
        self.place = place
        self.implementationCategory = implementationCategory
        self.screeningDoctor = screeningDoctor
        self.vaccinatingDoctor = vaccinatingDoctor
        self.vaccinationNumber = vaccinationNumber
        self.manufacturer = manufacturer
        self.lotNumber = lotNumber
        self.doseMicroliters = doseMicroliters
        self.reasonNotVaccinated = reasonNotVaccinated
        self.notes = notes
        self.vaccinatingMunicipality = vaccinatingMunicipality
        self.vaccinePlatform = vaccinePlatform
        self.productName = productName
    }

    /// The items of a stored record that a provider sends (what
    /// `RecordMapping.dose` puts on the wire).
    public init(_ record: VaccinationRecord) {
        self.init(
            fiscalYear: record.fiscalYear, vaccinationDate: record.vaccinationDate, kind: record.kind,
            doseNumber: record.doseNumber, judgement: record.judgement, ageAtVaccination: record.ageAtVaccination,
            ageAtFiscalYearEnd: record.ageAtFiscalYearEnd, medicalInstitution: record.medicalInstitution,
            place: record.place, implementationCategory: record.implementationCategory,
            screeningDoctor: record.screeningDoctor, vaccinatingDoctor: record.vaccinatingDoctor,
            vaccinationNumber: record.vaccinationNumber, manufacturer: record.manufacturer,
            lotNumber: record.lotNumber, doseMicroliters: record.doseMicroliters,
            reasonNotVaccinated: record.reasonNotVaccinated, notes: record.notes,
            vaccinatingMunicipality: record.vaccinatingMunicipality, vaccinePlatform: record.vaccinePlatform,
            productName: record.productName)
    }

    /// The contract's rules for a dose (records.proto), first broken one thrown.
    ///
    /// Deliberately not checked against our vaccine catalog: the provider's
    /// may be newer, and a received file is kept as the provider sent it.
    public func validate() throws(ValidationError) {
        typealias F = VaccinationRecord.Field
        guard fiscalYear == vaccinationDate.fiscalYear else {
            throw ValidationError(F.fiscalYear, .inconsistent, "must be the fiscal year (April-March) of 接種・予診日")
        }
        guard (1...VaccinationRecord.maxDoseNumber).contains(doseNumber) else {
            throw ValidationError(F.doseNumber, .range, "must be between 1 and \(VaccinationRecord.maxDoseNumber)")
        }
        guard (0...130).contains(ageAtVaccination) else {
            throw ValidationError(F.ageAtVaccination, .range, "must be between 0 and 130")
        }
        guard ageAtFiscalYearEnd >= ageAtVaccination, ageAtFiscalYearEnd <= ageAtVaccination + 1 else {
            throw ValidationError(F.ageAtFiscalYearEnd, .inconsistent, "must equal 接種日年齢 or one more")
        }
        let max = VaccinationRecord.maxTextCharacters
        try TextRules.check(medicalInstitution, field: F.medicalInstitution, maxCharacters: max)
        try TextRules.check(place, field: F.place, maxCharacters: max)
        try TextRules.check(screeningDoctor, field: F.screeningDoctor, maxCharacters: max)
        for (value, field) in [
            (vaccinatingDoctor, F.vaccinatingDoctor), (vaccinationNumber, F.vaccinationNumber),
            (manufacturer, F.manufacturer), (lotNumber, F.lotNumber),
            (reasonNotVaccinated, F.reasonNotVaccinated), (notes, F.notes), (productName, F.productName),
        ] {
            if let value { try TextRules.check(value, field: field, maxCharacters: max) }
        }
        if let doseMicroliters, !(50...1_000).contains(doseMicroliters) {
            throw ValidationError(F.doseAmount, .range, "must be between 0.05 and 1.0 mL")
        }
        switch judgement {
        case .vaccinated:
            for (value, field) in [(vaccinatingDoctor, F.vaccinatingDoctor), (manufacturer, F.manufacturer), (lotNumber, F.lotNumber)]
            where value == nil {
                throw ValidationError(field, .required, "is required when 接種判定 is 接種")
            }
            guard doseMicroliters != nil else {
                throw ValidationError(F.doseAmount, .required, "is required when 接種判定 is 接種")
            }
        case .screeningOnly:
            guard reasonNotVaccinated != nil else {
                throw ValidationError(F.reasonNotVaccinated, .required, "is required when 接種判定 is 予診のみ")
            }
        }
    }
}

/// A person's vaccination file as received from another municipality when
/// they moved in (転入): who sent it, for which inquiry, when, the four
/// identity facts the provider returned, and every dose.
///
/// Holds personal data (the Individual Number, name, date of birth): stored
/// only sealed, and never logged. `description` is redacted.
public struct ReceivedFile: Sendable, Hashable, CustomStringConvertible {
    /// The municipality that sent the file (the provider).
    public let source: MunicipalityCode
    /// The request id of the inquiry that brought it (a UUID).
    public let requestID: String
    /// The day it was received.
    public let receivedOn: LocalDate
    public let individualNumber: IndividualNumber
    /// 氏名
    public let name: String
    /// 氏名カナ
    public let nameKana: String
    public let dateOfBirth: LocalDate
    public let sex: Sex
    /// Sorted by date, then dose number, as the provider sends them.
    public let doses: [ReceivedDose]

    public static let maxDoses = 200
    public static let maxRequestIDBytes = 36

    public enum Field {
        public static let source = FieldName("source", "送付元自治体コード")
        public static let requestID = FieldName("requestID", "照会ID")
        public static let receivedOn = FieldName("receivedOn", "受領日")
        public static let doses = FieldName("doses", "接種記録")
    }

    /// Checks every rule; the first broken one is thrown. A dose's error
    /// names it by position, e.g. `doses[2].lotNumber (Lot.No.)`.
    public init(
        source: MunicipalityCode, requestID: String, receivedOn: LocalDate, individualNumber: IndividualNumber,
        name: String, nameKana: String, dateOfBirth: LocalDate, sex: Sex, doses: [ReceivedDose]
    ) throws(ValidationError) {
        guard !requestID.isEmpty, requestID.utf8.count <= Self.maxRequestIDBytes,
              requestID.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D })
        else {
            throw ValidationError(Field.requestID, .format, "must be 1-\(Self.maxRequestIDBytes) characters of A-Z, a-z, 0-9 and '-'")
        }
        try TextRules.check(name, field: Resident.Field.name, maxCharacters: Resident.maxNameCharacters)
        try TextRules.check(nameKana, field: Resident.Field.nameKana, maxCharacters: Resident.maxNameCharacters)
        try TextRules.checkKatakana(nameKana, field: Resident.Field.nameKana)
        guard receivedOn >= dateOfBirth else {
            throw ValidationError(Field.receivedOn, .inconsistent, "must not be before the date of birth")
        }
        guard doses.count <= Self.maxDoses else {
            throw ValidationError(Field.doses, .length, "must be at most \(Self.maxDoses) doses")
        }
        for (i, dose) in doses.enumerated() {
            do throws(ValidationError) {
                try dose.validate()
                guard dose.vaccinationDate >= dateOfBirth else {
                    throw ValidationError(VaccinationRecord.Field.vaccinationDate, .inconsistent, "must not be before the date of birth")
                }
            } catch {
                throw ValidationError(field: "doses[\(i)].\(error.field)", rule: error.rule, message: error.message)
            }
        }
        self.source = source
        self.requestID = requestID
        self.receivedOn = receivedOn
        self.individualNumber = individualNumber
        self.name = name
        self.nameKana = nameKana
        self.dateOfBirth = dateOfBirth
        self.sex = sex
        self.doses = doses
    }

    public var description: String {
        "ReceivedFile(source: \(source), requestID: \(requestID), receivedOn: \(receivedOn), doses: \(doses.count), personal data redacted)"
    }
}

extension ReceivedFile {
    static let formatVersion: UInt8 = 1

    /// The stored form of this file (before encryption).
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 160 + doses.count * 200)
        w.byte(Self.formatVersion)
        w.string(source.rawValue)
        w.string(requestID)
        w.date(receivedOn)
        w.string(individualNumber.digits)
        w.string(name)
        w.string(nameKana)
        w.date(dateOfBirth)
        w.byte(UInt8(sex.rawValue))
        w.varint(UInt64(doses.count))
        for d in doses {
            w.int(d.fiscalYear)
            w.date(d.vaccinationDate)
            w.string(d.kind.rawValue)
            w.int(d.doseNumber)
            w.string(d.judgement.rawValue)
            w.int(d.ageAtVaccination)
            w.int(d.ageAtFiscalYearEnd)
            w.string(d.medicalInstitution)
            w.string(d.place)
            w.string(d.implementationCategory.rawValue)
            w.string(d.screeningDoctor)
            for s in [d.vaccinatingDoctor, d.vaccinationNumber, d.manufacturer, d.lotNumber] {
                w.optional(s) { w, v in w.string(v) }
            }
            w.optional(d.doseMicroliters) { w, v in w.int(v) }
            w.optional(d.reasonNotVaccinated) { w, v in w.string(v) }
            w.optional(d.notes) { w, v in w.string(v) }
            w.string(d.vaccinatingMunicipality.rawValue)
            w.optional(d.vaccinePlatform) { w, p in w.string(p.rawValue) }
            w.optional(d.productName) { w, v in w.string(v) }
        }
        return w.bytes
    }

    /// Decodes and re-validates a stored file.
    public init(decoding bytes: [UInt8]) throws(RecordDecodingError) {
        var r = ByteReader(bytes)
        guard try r.byte() == Self.formatVersion else { throw RecordDecodingError("unknown received-file format version") }
        func code(_ r: inout ByteReader) throws(RecordDecodingError) -> MunicipalityCode {
            let text = try r.string()
            return try decoding("municipality code") { () throws(ValidationError) in try MunicipalityCode(text) }
        }
        let source = try code(&r)
        let requestID = try r.string()
        let receivedOn = try r.date()
        let number = try r.string()
        let name = try r.string()
        let kana = try r.string()
        let dob = try r.date()
        let sexRaw = try r.byte()
        let count = try r.varint()
        guard count <= UInt64(Self.maxDoses) else { throw RecordDecodingError("too many doses") }
        var doses: [ReceivedDose] = []
        doses.reserveCapacity(Int(count))
        for _ in 0..<count {
            let fiscalYear = try r.int()
            let date = try r.date()
            let kind = try r.enumValue(VaccinationKind.self)
            let doseNumber = try r.int()
            let judgement = try r.enumValue(VaccinationJudgement.self)
            let age = try r.int()
            let ageEnd = try r.int()
            let institution = try r.string()
            let place = try r.string()
            let category = try r.enumValue(ImplementationCategory.self)
            let screening = try r.string()
            let vaccinating = try r.optionalString()
            let vaccinationNumber = try r.optionalString()
            let manufacturer = try r.optionalString()
            let lot = try r.optionalString()
            let micro = try r.optional { (r) throws(RecordDecodingError) in try r.int() }
            let reason = try r.optionalString()
            let notes = try r.optionalString()
            let municipality = try code(&r)
            let platform = try r.optional { (r) throws(RecordDecodingError) in try r.enumValue(VaccinePlatform.self) }
            let product = try r.optionalString()
            doses.append(ReceivedDose(
                fiscalYear: fiscalYear, vaccinationDate: date, kind: kind, doseNumber: doseNumber,
                judgement: judgement, ageAtVaccination: age, ageAtFiscalYearEnd: ageEnd,
                medicalInstitution: institution, place: place, implementationCategory: category,
                screeningDoctor: screening, vaccinatingDoctor: vaccinating, vaccinationNumber: vaccinationNumber,
                manufacturer: manufacturer, lotNumber: lot, doseMicroliters: micro, reasonNotVaccinated: reason,
                notes: notes, vaccinatingMunicipality: municipality, vaccinePlatform: platform, productName: product))
        }
        guard r.isAtEnd else { throw RecordDecodingError("trailing bytes after received file") }
        guard let sex = Sex(rawValue: Int(sexRaw)) else { throw RecordDecodingError("bad sex value") }
        self = try decoding("received file") { () throws(ValidationError) in
            try ReceivedFile(source: source, requestID: requestID, receivedOn: receivedOn,
                             individualNumber: IndividualNumber(number), name: name, nameKana: kana,
                             dateOfBirth: dob, sex: sex, doses: doses)
        }
    }
}
