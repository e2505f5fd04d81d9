/// 接種種別: the legal basis of the vaccination.
public enum VaccinationKind: String, Sendable, CaseIterable {
    case specialTemporary = "特例臨時接種"
    case routine = "定期接種"
    case voluntary = "任意接種"
}

/// 接種判定: whether the screening led to a vaccination.
public enum VaccinationJudgement: String, Sendable, CaseIterable {
    case vaccinated = "接種"
    case screeningOnly = "予診のみ"
}

/// 実施区分: how the vaccination was delivered.
public enum ImplementationCategory: String, Sendable, CaseIterable {
    case individual = "個別接種"
    case mass = "集団接種"
    case workplace = "職域接種"
    case visiting = "巡回接種"
    case other = "その他"
}

/// 旅券関係情報: kept only when a vaccination certificate needs it.
public struct PassportDetails: Sendable, Hashable {
    /// 旧姓・別姓・別名
    public var otherName: String?
    /// ローマ字氏名
    public var romanName: String
    /// 国籍 (ISO 3166-1 alpha-3, e.g. JPN)
    public var nationality: String
    /// 旅券番号
    public var passportNumber: String

    public init(otherName: String? = nil, romanName: String, nationality: String, passportNumber: String) {
        self.otherName = otherName
        self.romanName = romanName
        self.nationality = nationality
        self.passportNumber = passportNumber
    }
}

/// One dose (or one screening without a dose) in a resident's vaccination
/// file, with every business item of the assessment's appendix 別添1.
public struct VaccinationRecord: Sendable, Hashable {
    /// 1. 西暦年度
    public var fiscalYear: Int
    /// 2. 宛名番号: links the record to the resident.
    public var addressNumber: AddressNumber
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
    /// 9. 請求日(月)
    public var billingMonth: YearMonth?
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
    /// 22. VRS取込日
    public var vrsImportedOn: LocalDate?
    /// 23. VRS移出日
    public var vrsExportedOn: LocalDate?
    /// 24. ワクチン種類 (certificates only)
    public var vaccinePlatform: VaccinePlatform?
    /// 25. 製品名 (certificates only)
    public var productName: String?
    /// 26. 旅券関係情報 (certificates only)
    public var passport: PassportDetails?
    /// 27. 証明書ID (certificates only)
    public var certificateID: String?
    /// 28. 証明書発行年月日 (certificates only)
    public var certificateIssuedOn: LocalDate?

    public static let maxDoseNumber = 20
    public static let maxTextCharacters = 200

    /// Column names as municipal systems write them, in 別添1 order.
    public enum Field {
        public static let fiscalYear = FieldName("fiscalYear", "西暦年度")
        public static let vaccinationDate = FieldName("vaccinationDate", "接種・予診日")
        public static let kind = FieldName("kind", "接種種別")
        public static let doseNumber = FieldName("doseNumber", "接種回数")
        public static let judgement = FieldName("judgement", "接種判定")
        public static let ageAtVaccination = FieldName("ageAtVaccination", "接種日年齢")
        public static let ageAtFiscalYearEnd = FieldName("ageAtFiscalYearEnd", "年度末年齢")
        public static let billingMonth = FieldName("billingMonth", "請求日(月)")
        public static let medicalInstitution = FieldName("medicalInstitution", "実施医療機関")
        public static let place = FieldName("place", "実施場所")
        public static let implementationCategory = FieldName("implementationCategory", "実施区分")
        public static let screeningDoctor = FieldName("screeningDoctor", "問診医")
        public static let vaccinatingDoctor = FieldName("vaccinatingDoctor", "接種医")
        public static let vaccinationNumber = FieldName("vaccinationNumber", "接種番号")
        public static let manufacturer = FieldName("manufacturer", "メーカー")
        public static let lotNumber = FieldName("lotNumber", "Lot.No.")
        public static let doseAmount = FieldName("doseAmount", "接種量")
        public static let reasonNotVaccinated = FieldName("reasonNotVaccinated", "未接種理由")
        public static let notes = FieldName("notes", "特記事項")
        public static let vaccinatingMunicipality = FieldName("vaccinatingMunicipality", "接種自治体コード")
        public static let vrsImportedOn = FieldName("vrsImportedOn", "VRS取込日")
        public static let vrsExportedOn = FieldName("vrsExportedOn", "VRS移出日")
        public static let vaccinePlatform = FieldName("vaccinePlatform", "ワクチン種類")
        public static let productName = FieldName("productName", "製品名")
        public static let passportOtherName = FieldName("passportOtherName", "旧姓・別姓・別名")
        public static let passportRomanName = FieldName("passportRomanName", "ローマ字氏名")
        public static let passportNationality = FieldName("passportNationality", "国籍")
        public static let passportNumber = FieldName("passportNumber", "旅券番号")
        public static let certificateID = FieldName("certificateID", "証明書ID")
        public static let certificateIssuedOn = FieldName("certificateIssuedOn", "証明書発行年月日")
    }

    public init(
        fiscalYear: Int, addressNumber: AddressNumber, vaccinationDate: LocalDate,
        kind: VaccinationKind, doseNumber: Int, judgement: VaccinationJudgement,
        ageAtVaccination: Int, ageAtFiscalYearEnd: Int, billingMonth: YearMonth? = nil,
        medicalInstitution: String, place: String, implementationCategory: ImplementationCategory,
        screeningDoctor: String, vaccinatingDoctor: String? = nil, vaccinationNumber: String? = nil,
        manufacturer: String? = nil, lotNumber: String? = nil, doseMicroliters: Int? = nil,
        reasonNotVaccinated: String? = nil, notes: String? = nil,
        vaccinatingMunicipality: MunicipalityCode,
        vrsImportedOn: LocalDate? = nil, vrsExportedOn: LocalDate? = nil,
        vaccinePlatform: VaccinePlatform? = nil, productName: String? = nil,
        passport: PassportDetails? = nil, certificateID: String? = nil, certificateIssuedOn: LocalDate? = nil
    ) {
        self.fiscalYear = fiscalYear
        self.addressNumber = addressNumber
        self.vaccinationDate = vaccinationDate
        self.kind = kind
        self.doseNumber = doseNumber
        self.judgement = judgement
        self.ageAtVaccination = ageAtVaccination
        self.ageAtFiscalYearEnd = ageAtFiscalYearEnd
        self.billingMonth = billingMonth
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
        self.vrsImportedOn = vrsImportedOn
        self.vrsExportedOn = vrsExportedOn
        self.vaccinePlatform = vaccinePlatform
        self.productName = productName
        self.passport = passport
        self.certificateID = certificateID
        self.certificateIssuedOn = certificateIssuedOn
    }

    /// Checks every rule that needs only the record itself; the first broken
    /// one is thrown.
    public func validate() throws(ValidationError) {
        guard fiscalYear == vaccinationDate.fiscalYear else {
            throw ValidationError(Field.fiscalYear, .inconsistent, "must be the fiscal year (April-March) of 接種・予診日")
        }
        guard (1...Self.maxDoseNumber).contains(doseNumber) else {
            throw ValidationError(Field.doseNumber, .range, "must be between 1 and \(Self.maxDoseNumber)")
        }
        guard (0...130).contains(ageAtVaccination) else {
            throw ValidationError(Field.ageAtVaccination, .range, "must be between 0 and 130")
        }
        guard ageAtFiscalYearEnd >= ageAtVaccination, ageAtFiscalYearEnd <= ageAtVaccination + 1 else {
            throw ValidationError(Field.ageAtFiscalYearEnd, .inconsistent, "must equal 接種日年齢 or one more")
        }
        if let billingMonth, billingMonth < YearMonth(unchecked: vaccinationDate) {
            throw ValidationError(Field.billingMonth, .inconsistent, "must not be before the month of 接種・予診日")
        }
        let max = Self.maxTextCharacters
        try TextRules.check(medicalInstitution, field: Field.medicalInstitution, maxCharacters: max)
        try TextRules.check(place, field: Field.place, maxCharacters: max)
        try TextRules.check(screeningDoctor, field: Field.screeningDoctor, maxCharacters: max)
        for (value, field) in [
            (vaccinatingDoctor, Field.vaccinatingDoctor), (vaccinationNumber, Field.vaccinationNumber),
            (manufacturer, Field.manufacturer), (lotNumber, Field.lotNumber),
            (reasonNotVaccinated, Field.reasonNotVaccinated), (notes, Field.notes),
            (productName, Field.productName), (certificateID, Field.certificateID),
        ] {
            if let value { try TextRules.check(value, field: field, maxCharacters: max) }
        }
        switch judgement {
        case .vaccinated:
            guard vaccinatingDoctor != nil else {
                throw ValidationError(Field.vaccinatingDoctor, .required, "is required when 接種判定 is 接種")
            }
            guard lotNumber != nil else {
                throw ValidationError(Field.lotNumber, .required, "is required when 接種判定 is 接種")
            }
            guard let doseMicroliters else {
                throw ValidationError(Field.doseAmount, .required, "is required when 接種判定 is 接種")
            }
            guard (50...1_000).contains(doseMicroliters) else {
                throw ValidationError(Field.doseAmount, .range, "must be between 0.05 and 1.0 mL")
            }
            guard let manufacturer else {
                throw ValidationError(Field.manufacturer, .required, "is required when 接種判定 is 接種")
            }
            guard VaccineCatalog.manufacturers.contains(manufacturer) else {
                throw ValidationError(Field.manufacturer, .unknownValue, "is not a manufacturer in the vaccine catalog")
            }
        case .screeningOnly:
            guard reasonNotVaccinated != nil else {
                throw ValidationError(Field.reasonNotVaccinated, .required, "is required when 接種判定 is 予診のみ")
            }
        }
        if let productName {
            guard let product = VaccineCatalog.product(named: productName) else {
                throw ValidationError(Field.productName, .unknownValue, "is not a product in the vaccine catalog")
            }
            if let manufacturer, manufacturer != product.manufacturer {
                throw ValidationError(Field.manufacturer, .inconsistent, "does not match the manufacturer of 製品名")
            }
            if let vaccinePlatform, vaccinePlatform != product.platform {
                throw ValidationError(Field.vaccinePlatform, .inconsistent, "does not match the platform of 製品名")
            }
        }
        if let vrsImportedOn, vrsImportedOn < vaccinationDate {
            throw ValidationError(Field.vrsImportedOn, .inconsistent, "must not be before 接種・予診日")
        }
        if let certificateIssuedOn, certificateIssuedOn < vaccinationDate {
            throw ValidationError(Field.certificateIssuedOn, .inconsistent, "must not be before 接種・予診日")
        }
        if certificateIssuedOn != nil, certificateID == nil {
            throw ValidationError(Field.certificateID, .required, "is required when 証明書発行年月日 is given")
        }
        if let passport {
            try TextRules.check(passport.romanName, field: Field.passportRomanName, maxCharacters: 100)
            guard passport.nationality.utf8.count == 3, passport.nationality.utf8.allSatisfy({ $0 >= 0x41 && $0 <= 0x5A }) else {
                throw ValidationError(Field.passportNationality, .format, "must be an ISO 3166-1 alpha-3 code such as JPN")
            }
            try TextRules.check(passport.passportNumber, field: Field.passportNumber, maxCharacters: 20)
        }
    }

    /// What identifies the record within a municipality: 宛名番号, 接種・予診日
    /// and 接種回数. Contains an address number: use it only as input to a
    /// blind index or for in-memory duplicate checks, never in a log.
    public var identity: String {
        "\(addressNumber.digits)|\(vaccinationDate.iso)|\(doseNumber)"
    }

    /// Checks the ages against the resident's date of birth.
    public func validate(againstDateOfBirth dateOfBirth: LocalDate) throws(ValidationError) {
        guard vaccinationDate >= dateOfBirth else {
            throw ValidationError(Field.vaccinationDate, .inconsistent, "must not be before the date of birth")
        }
        guard ageAtVaccination == dateOfBirth.age(on: vaccinationDate) else {
            throw ValidationError(Field.ageAtVaccination, .inconsistent, "does not match 生年月日 and 接種・予診日")
        }
        let fiscalYearEnd = try! LocalDate(year: fiscalYear + 1, month: 3, day: 31)
        guard ageAtFiscalYearEnd == dateOfBirth.age(on: fiscalYearEnd) else {
            throw ValidationError(Field.ageAtFiscalYearEnd, .inconsistent, "does not match 生年月日 and 西暦年度")
        }
    }
}

extension YearMonth {
    init(unchecked date: LocalDate) {
        // A LocalDate's year and month already satisfy YearMonth's rules.
        self = try! YearMonth(year: date.year, month: date.month)
    }
}
