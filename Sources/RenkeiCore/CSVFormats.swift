/// The resident CSV format (住民CSV): Japanese column names as resident-register
/// systems write them. Documented in Ops/csv-formats.md.
public enum ResidentCSVFormat {
    public static let addressNumber = "宛名番号"
    public static let individualNumber = "個人番号"
    public static let name = "氏名"
    public static let nameKana = "氏名カナ"
    public static let dateOfBirth = "生年月日"
    public static let sex = "性別"
    public static let address = "住所"
    public static let movedInOn = "転入日"
    public static let movedInFrom = "転入元自治体コード"
    public static let movedOutOn = "転出日"
    public static let movedOutTo = "転出先自治体コード"
    public static let deceasedOn = "死亡日"

    public static let requiredColumns = [addressNumber, individualNumber, name, nameKana, dateOfBirth, sex, address]
    public static let optionalColumns = [movedInOn, movedInFrom, movedOutOn, movedOutTo, deceasedOn]
    public static let columns = requiredColumns + optionalColumns

    /// Builds a resident from a row; `value` returns a column's trimmed,
    /// non-empty value or nil.
    public static func parse(_ value: (String) -> String?) throws(ValidationError) -> Resident {
        func required(_ column: String, _ field: FieldName) throws(ValidationError) -> String {
            guard let v = value(column) else { throw ValidationError(field, .required, "is required") }
            return v
        }
        let addressNumber = try AddressNumber(try required(Self.addressNumber, AddressNumber.field))
        let number = try IndividualNumber(try required(Self.individualNumber, IndividualNumber.field))
        let dob = try LocalDate(parsing: try required(Self.dateOfBirth, Resident.Field.dateOfBirth), field: Resident.Field.dateOfBirth)
        let sex = try Sex(parsing: try required(Self.sex, Sex.field))
        let movedIn = try moveEvent(value, dateColumn: movedInOn, codeColumn: movedInFrom,
                                    dateField: Resident.Field.movedInOn, codeField: Resident.Field.movedInFrom)
        let movedOut = try moveEvent(value, dateColumn: movedOutOn, codeColumn: movedOutTo,
                                     dateField: Resident.Field.movedOutOn, codeField: Resident.Field.movedOutTo)
        let deceased = try value(deceasedOn).map { (v) throws(ValidationError) in
            try LocalDate(parsing: v, field: Resident.Field.deceasedOn)
        }
        return try Resident(
            addressNumber: addressNumber, individualNumber: number,
            name: try required(name, Resident.Field.name),
            nameKana: try required(nameKana, Resident.Field.nameKana),
            dateOfBirth: dob, sex: sex,
            address: try required(address, Resident.Field.address),
            movedIn: movedIn, movedOut: movedOut, deceasedOn: deceased)
    }

    private static func moveEvent(
        _ value: (String) -> String?, dateColumn: String, codeColumn: String,
        dateField: FieldName, codeField: FieldName
    ) throws(ValidationError) -> MoveEvent? {
        switch (value(dateColumn), value(codeColumn)) {
        case (nil, nil):
            return nil
        case let (date?, code?):
            return MoveEvent(date: try LocalDate(parsing: date, field: dateField),
                             otherMunicipality: try MunicipalityCode(code, field: codeField))
        case (nil, _?):
            throw ValidationError(dateField, .required, "is required when \(codeField) is given")
        case (_?, nil):
            throw ValidationError(codeField, .required, "is required when \(dateField) is given")
        }
    }

    /// The row for `resident`, in `columns` order.
    public static func fields(of r: Resident) -> [String] {
        [r.addressNumber.digits, r.individualNumber.digits, r.name, r.nameKana, r.dateOfBirth.iso,
         String(r.sex.rawValue), r.address,
         r.movedIn?.date.iso ?? "", r.movedIn?.otherMunicipality.rawValue ?? "",
         r.movedOut?.date.iso ?? "", r.movedOut?.otherMunicipality.rawValue ?? "",
         r.deceasedOn?.iso ?? ""]
    }
}

/// The vaccination CSV format (予防接種CSV): one row per dose or screening,
/// linked to the resident by 宛名番号. It has no 個人番号 column: the
/// assessment requires that vaccination CSVs never carry the Individual Number.
public enum VaccinationCSVFormat {
    typealias F = VaccinationRecord.Field
    public static let addressNumber = "宛名番号"

    public static let requiredColumns: [String] = [
        F.fiscalYear.japanese!, addressNumber, F.vaccinationDate.japanese!, F.kind.japanese!,
        F.doseNumber.japanese!, F.judgement.japanese!, F.ageAtVaccination.japanese!,
        F.ageAtFiscalYearEnd.japanese!, F.medicalInstitution.japanese!, F.place.japanese!,
        F.implementationCategory.japanese!, F.screeningDoctor.japanese!, F.vaccinatingMunicipality.japanese!,
    ]
    public static let optionalColumns: [String] = [
        F.billingMonth, F.vaccinatingDoctor, F.vaccinationNumber, F.manufacturer, F.lotNumber,
        F.doseAmount, F.reasonNotVaccinated, F.notes, F.vrsImportedOn, F.vrsExportedOn,
        F.vaccinePlatform, F.productName, F.passportOtherName, F.passportRomanName,
        F.passportNationality, F.passportNumber, F.certificateID, F.certificateIssuedOn,
    ].map { $0.japanese! }

    /// Every column in 別添1 order.
    public static let columns: [String] = [
        F.fiscalYear, FieldName("addressNumber", addressNumber), F.vaccinationDate, F.kind, F.doseNumber,
        F.judgement, F.ageAtVaccination, F.ageAtFiscalYearEnd, F.billingMonth, F.medicalInstitution,
        F.place, F.implementationCategory, F.screeningDoctor, F.vaccinatingDoctor, F.vaccinationNumber,
        F.manufacturer, F.lotNumber, F.doseAmount, F.reasonNotVaccinated, F.notes,
        F.vaccinatingMunicipality, F.vrsImportedOn, F.vrsExportedOn, F.vaccinePlatform, F.productName,
        F.passportOtherName, F.passportRomanName, F.passportNationality, F.passportNumber,
        F.certificateID, F.certificateIssuedOn,
    ].map { $0.japanese! }

    /// Builds and validates a record from a row.
    public static func parse(_ value: (String) -> String?) throws(ValidationError) -> VaccinationRecord {
        func required(_ field: FieldName) throws(ValidationError) -> String {
            guard let v = value(field.japanese!) else { throw ValidationError(field, .required, "is required") }
            return v
        }
        func optional(_ field: FieldName) -> String? { value(field.japanese!) }
        func integer(_ field: FieldName) throws(ValidationError) -> Int {
            guard let v = Int(try required(field)) else {
                throw ValidationError(field, .format, "must be a whole number")
            }
            return v
        }
        func date(_ field: FieldName) throws(ValidationError) -> LocalDate? {
            guard let v = optional(field) else { return nil }
            return try LocalDate(parsing: v, field: field)
        }
        func enumValue<E: RawRepresentable>(_ field: FieldName, _ type: E.Type) throws(ValidationError) -> E
        where E.RawValue == String, E: CaseIterable {
            guard let v = E(rawValue: try required(field)) else {
                let allowed = E.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError(field, .unknownValue, "must be one of: \(allowed)")
            }
            return v
        }

        let vaccinationDate = try LocalDate(parsing: try required(F.vaccinationDate), field: F.vaccinationDate)
        var passport: PassportDetails?
        if let roman = optional(F.passportRomanName) {
            guard let nationality = optional(F.passportNationality) else {
                throw ValidationError(F.passportNationality, .required, "is required when ローマ字氏名 is given")
            }
            guard let number = optional(F.passportNumber) else {
                throw ValidationError(F.passportNumber, .required, "is required when ローマ字氏名 is given")
            }
            passport = PassportDetails(otherName: optional(F.passportOtherName), romanName: roman,
                                       nationality: nationality, passportNumber: number)
        }
        var platform: VaccinePlatform?
        if let p = optional(F.vaccinePlatform) {
            guard let v = VaccinePlatform(rawValue: p) else {
                let allowed = VaccinePlatform.allCases.map(\.rawValue).joined(separator: ", ")
                throw ValidationError(F.vaccinePlatform, .unknownValue, "must be one of: \(allowed)")
            }
            platform = v
        }
        let record = VaccinationRecord(
            fiscalYear: try integer(F.fiscalYear),
            addressNumber: try AddressNumber(try required(FieldName("addressNumber", addressNumber))),
            vaccinationDate: vaccinationDate,
            kind: try enumValue(F.kind, VaccinationKind.self),
            doseNumber: try integer(F.doseNumber),
            judgement: try enumValue(F.judgement, VaccinationJudgement.self),
            ageAtVaccination: try integer(F.ageAtVaccination),
            ageAtFiscalYearEnd: try integer(F.ageAtFiscalYearEnd),
            billingMonth: try optional(F.billingMonth).map { (v) throws(ValidationError) in
                try YearMonth(parsing: v, field: F.billingMonth)
            },
            medicalInstitution: try required(F.medicalInstitution),
            place: try required(F.place),
            implementationCategory: try enumValue(F.implementationCategory, ImplementationCategory.self),
            screeningDoctor: try required(F.screeningDoctor),
            vaccinatingDoctor: optional(F.vaccinatingDoctor),
            vaccinationNumber: optional(F.vaccinationNumber),
            manufacturer: optional(F.manufacturer),
            lotNumber: optional(F.lotNumber),
            doseMicroliters: try optional(F.doseAmount).map { (v) throws(ValidationError) in try parseMilliliters(v) },
            reasonNotVaccinated: optional(F.reasonNotVaccinated),
            notes: optional(F.notes),
            vaccinatingMunicipality: try MunicipalityCode(try required(F.vaccinatingMunicipality), field: F.vaccinatingMunicipality),
            vrsImportedOn: try date(F.vrsImportedOn),
            vrsExportedOn: try date(F.vrsExportedOn),
            vaccinePlatform: platform,
            productName: optional(F.productName),
            passport: passport,
            certificateID: optional(F.certificateID),
            certificateIssuedOn: try date(F.certificateIssuedOn))
        try record.validate()
        return record
    }

    /// Parses a dose amount in millilitres ("0.3", "0.25", "0.5mL") into microlitres.
    public static func parseMilliliters(_ text: String) throws(ValidationError) -> Int {
        var t = Substring(text)
        if t.hasSuffix("mL") || t.hasSuffix("ml") { t = t.dropLast(2) }
        let parts = t.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), parts.allSatisfy({ $0.allSatisfy(\.isASCII) }),
              let whole = Int(parts[0]), whole >= 0, whole < 10 else {
            throw ValidationError(F.doseAmount, .format, "must be millilitres such as 0.3")
        }
        var micro = whole * 1000
        if parts.count == 2 {
            let frac = parts[1]
            guard (1...3).contains(frac.count), let f = Int(frac), f >= 0 else {
                throw ValidationError(F.doseAmount, .format, "must be millilitres with at most 3 decimals, such as 0.3")
            }
            micro += f * [100, 10, 1][frac.count - 1]
        }
        return micro
    }

    /// Formats microlitres as millilitres without trailing zeros: 300 → "0.3".
    public static func formatMilliliters(_ micro: Int) -> String {
        let whole = micro / 1000
        var frac = String(micro % 1000)
        frac = String(repeating: "0", count: 3 - frac.count) + frac
        while frac.hasSuffix("0") { frac.removeLast() }
        return frac.isEmpty ? String(whole) : "\(whole).\(frac)"
    }

    /// The row for `record`, in `columns` order.
    public static func fields(of r: VaccinationRecord) -> [String] {
        [String(r.fiscalYear), r.addressNumber.digits, r.vaccinationDate.iso, r.kind.rawValue,
         String(r.doseNumber), r.judgement.rawValue, String(r.ageAtVaccination), String(r.ageAtFiscalYearEnd),
         r.billingMonth?.description ?? "", r.medicalInstitution, r.place, r.implementationCategory.rawValue,
         r.screeningDoctor, r.vaccinatingDoctor ?? "", r.vaccinationNumber ?? "", r.manufacturer ?? "",
         r.lotNumber ?? "", r.doseMicroliters.map(formatMilliliters) ?? "", r.reasonNotVaccinated ?? "",
         r.notes ?? "", r.vaccinatingMunicipality.rawValue, r.vrsImportedOn?.iso ?? "",
         r.vrsExportedOn?.iso ?? "", r.vaccinePlatform?.rawValue ?? "", r.productName ?? "",
         r.passport?.otherName ?? "", r.passport?.romanName ?? "", r.passport?.nationality ?? "",
         r.passport?.passportNumber ?? "", r.certificateID ?? "", r.certificateIssuedOn?.iso ?? ""]
    }
}
