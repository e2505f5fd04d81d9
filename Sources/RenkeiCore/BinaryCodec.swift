/// Appends values in Renkei's compact binary record format: unsigned LEB128
/// varints, length-prefixed UTF-8 strings, a presence byte before optionals.
public struct ByteWriter: Sendable {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func byte(_ v: UInt8) { bytes.append(v) }

    public mutating func varint(_ value: UInt64) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    public mutating func int(_ v: Int) {
        // Zig-zag, so small negative numbers stay small.
        varint(UInt64(bitPattern: Int64((v << 1) ^ (v >> 63))))
    }

    public mutating func string(_ s: String) {
        varint(UInt64(s.utf8.count))
        bytes.append(contentsOf: s.utf8)
    }

    public mutating func optional<T>(_ value: T?, _ write: (inout ByteWriter, T) -> Void) {
        if let value {
            byte(1)
            write(&self, value)
        } else {
            byte(0)
        }
    }

    public mutating func date(_ d: LocalDate) { int(d.daysSinceEpoch) }
}

/// A stored record could not be decoded: the format is wrong or the bytes are
/// damaged. Never carries the bytes themselves.
public struct RecordDecodingError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public let cause: ValidationError?
    public init(_ message: String, cause: ValidationError? = nil) {
        self.message = message
        self.cause = cause
    }
    public var description: String {
        cause.map { "\(message): \($0)" } ?? message
    }
}

/// Reads what `ByteWriter` wrote, checking every bound.
public struct ByteReader {
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
        self.offset = 0
    }

    public var isAtEnd: Bool { offset == bytes.count }

    public mutating func byte() throws(RecordDecodingError) -> UInt8 {
        guard offset < bytes.count else { throw RecordDecodingError("record ends early") }
        defer { offset += 1 }
        return bytes[offset]
    }

    public mutating func varint() throws(RecordDecodingError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let b = try byte()
            guard shift < 64 else { throw RecordDecodingError("varint too long") }
            result |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 { return result }
            shift += 7
        }
    }

    public mutating func int() throws(RecordDecodingError) -> Int {
        let z = try varint()
        return Int(Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1))))
    }

    public mutating func string(maxBytes: Int = 4096) throws(RecordDecodingError) -> String {
        let count = try varint()
        guard count <= UInt64(maxBytes), offset + Int(count) <= bytes.count else {
            throw RecordDecodingError("string length out of bounds")
        }
        let slice = bytes[offset..<(offset + Int(count))]
        offset += Int(count)
        guard let s = String(validating: slice, as: UTF8.self) else {
            throw RecordDecodingError("string is not valid UTF-8")
        }
        return s
    }

    public mutating func optional<T>(_ read: (inout ByteReader) throws(RecordDecodingError) -> T) throws(RecordDecodingError) -> T? {
        switch try byte() {
        case 0: return nil
        case 1: return try read(&self)
        default: throw RecordDecodingError("bad presence byte")
        }
    }

    public mutating func date() throws(RecordDecodingError) -> LocalDate {
        let days = try int()
        guard (-40_000...90_000).contains(days) else { throw RecordDecodingError("date out of range") }
        return LocalDate(daysSinceEpoch: days)
    }
}

/// Runs a domain constructor on decoded values; a rule broken by stored data
/// means the data is damaged.
@inline(__always)
func decoding<T>(_ what: String, _ body: () throws(ValidationError) -> T) throws(RecordDecodingError) -> T {
    do {
        return try body()
    } catch {
        throw RecordDecodingError("stored \(what) breaks a rule", cause: error)
    }
}

extension Resident {
    static let formatVersion: UInt8 = 1

    /// The stored form of this resident (before encryption).
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 192)
        w.byte(Self.formatVersion)
        w.string(addressNumber.digits)
        w.string(individualNumber.digits)
        w.string(name)
        w.string(nameKana)
        w.date(dateOfBirth)
        w.byte(UInt8(sex.rawValue))
        w.string(address)
        for event in [movedIn, movedOut] {
            w.optional(event) { w, e in
                w.date(e.date)
                w.string(e.otherMunicipality.rawValue)
            }
        }
        w.optional(deceasedOn) { w, d in w.date(d) }
        return w.bytes
    }

    /// Decodes and re-validates a stored resident.
    public init(decoding bytes: [UInt8]) throws(RecordDecodingError) {
        var r = ByteReader(bytes)
        guard try r.byte() == Self.formatVersion else { throw RecordDecodingError("unknown resident format version") }
        let addressNumber = try r.string()
        let number = try r.string()
        let name = try r.string()
        let kana = try r.string()
        let dob = try r.date()
        let sexRaw = try r.byte()
        let address = try r.string()
        func event(_ r: inout ByteReader) throws(RecordDecodingError) -> MoveEvent? {
            try r.optional { (r) throws(RecordDecodingError) in
                let date = try r.date()
                let code = try r.string()
                return MoveEvent(date: date, otherMunicipality: try decoding("municipality code") { () throws(ValidationError) in try MunicipalityCode(code) })
            }
        }
        let movedIn = try event(&r)
        let movedOut = try event(&r)
        let deceased = try r.optional { (r) throws(RecordDecodingError) in try r.date() }
        guard r.isAtEnd else { throw RecordDecodingError("trailing bytes after resident") }
        guard let sex = Sex(rawValue: Int(sexRaw)) else { throw RecordDecodingError("bad sex value") }
        self = try decoding("resident") { () throws(ValidationError) in
            try Resident(addressNumber: AddressNumber(addressNumber), individualNumber: IndividualNumber(number),
                         name: name, nameKana: kana, dateOfBirth: dob, sex: sex, address: address,
                         movedIn: movedIn, movedOut: movedOut, deceasedOn: deceased)
        }
    }
}

extension VaccinationRecord {
    static let formatVersion: UInt8 = 1

    /// The stored form of this record (before encryption).
    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: 320)
        w.byte(Self.formatVersion)
        w.int(fiscalYear)
        w.string(addressNumber.digits)
        w.date(vaccinationDate)
        w.string(kind.rawValue)
        w.int(doseNumber)
        w.string(judgement.rawValue)
        w.int(ageAtVaccination)
        w.int(ageAtFiscalYearEnd)
        w.optional(billingMonth) { w, m in w.int(m.year); w.int(m.month) }
        w.string(medicalInstitution)
        w.string(place)
        w.string(implementationCategory.rawValue)
        w.string(screeningDoctor)
        for s in [vaccinatingDoctor, vaccinationNumber, manufacturer, lotNumber] {
            w.optional(s) { w, v in w.string(v) }
        }
        w.optional(doseMicroliters) { w, v in w.int(v) }
        w.optional(reasonNotVaccinated) { w, v in w.string(v) }
        w.optional(notes) { w, v in w.string(v) }
        w.string(vaccinatingMunicipality.rawValue)
        w.optional(vrsImportedOn) { w, d in w.date(d) }
        w.optional(vrsExportedOn) { w, d in w.date(d) }
        w.optional(vaccinePlatform) { w, p in w.string(p.rawValue) }
        w.optional(productName) { w, v in w.string(v) }
        w.optional(passport) { w, p in
            w.optional(p.otherName) { w, v in w.string(v) }
            w.string(p.romanName)
            w.string(p.nationality)
            w.string(p.passportNumber)
        }
        w.optional(certificateID) { w, v in w.string(v) }
        w.optional(certificateIssuedOn) { w, d in w.date(d) }
        return w.bytes
    }

    /// Decodes a stored record: its structure, enum values, codes and numbers
    /// are checked; the record rules (`validate()`) are not re-run.
    public init(decoding bytes: [UInt8]) throws(RecordDecodingError) {
        var r = ByteReader(bytes)
        guard try r.byte() == Self.formatVersion else { throw RecordDecodingError("unknown vaccination format version") }
        let fiscalYear = try r.int()
        let addressNumber = try r.string()
        let date = try r.date()
        let kind = try r.enumValue(VaccinationKind.self)
        let dose = try r.int()
        let judgement = try r.enumValue(VaccinationJudgement.self)
        let age = try r.int()
        let ageEnd = try r.int()
        let billing = try r.optional { (r) throws(RecordDecodingError) in
            let y = try r.int(); let m = try r.int()
            return try decoding("billing month") { () throws(ValidationError) in try YearMonth(year: y, month: m) }
        }
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
        let municipality = try r.string()
        let imported = try r.optional { (r) throws(RecordDecodingError) in try r.date() }
        let exported = try r.optional { (r) throws(RecordDecodingError) in try r.date() }
        let platform = try r.optional { (r) throws(RecordDecodingError) in try r.enumValue(VaccinePlatform.self) }
        let product = try r.optionalString()
        let passport = try r.optional { (r) throws(RecordDecodingError) in
            PassportDetails(otherName: try r.optionalString(), romanName: try r.string(),
                            nationality: try r.string(), passportNumber: try r.string())
        }
        let certificateID = try r.optionalString()
        let certificateIssued = try r.optional { (r) throws(RecordDecodingError) in try r.date() }
        guard r.isAtEnd else { throw RecordDecodingError("trailing bytes after vaccination record") }
        let record = try decoding("vaccination record") { () throws(ValidationError) in
            VaccinationRecord(
                fiscalYear: fiscalYear, addressNumber: try AddressNumber(addressNumber), vaccinationDate: date,
                kind: kind, doseNumber: dose, judgement: judgement, ageAtVaccination: age,
                ageAtFiscalYearEnd: ageEnd, billingMonth: billing, medicalInstitution: institution,
                place: place, implementationCategory: category, screeningDoctor: screening,
                vaccinatingDoctor: vaccinating, vaccinationNumber: vaccinationNumber,
                manufacturer: manufacturer, lotNumber: lot, doseMicroliters: micro,
                reasonNotVaccinated: reason, notes: notes,
                vaccinatingMunicipality: try MunicipalityCode(municipality),
                vrsImportedOn: imported, vrsExportedOn: exported, vaccinePlatform: platform,
                productName: product, passport: passport, certificateID: certificateID,
                certificateIssuedOn: certificateIssued)
        }
        // No `validate()` here: the bytes were validated before they were
        // sealed, and AES-GCM with the record's context proves they are the
        // bytes this software wrote. Re-running the text and cross-field rules
        // on every read was 15% of a bulk batch's CPU (perf, issue 4), and a
        // rule tightened later must not make stored records unreadable.
        self = record
    }
}

extension ByteReader {
    /// A string-backed enum value; an unknown one is a decoding error.
    mutating func enumValue<E: RawRepresentable>(_ type: E.Type) throws(RecordDecodingError) -> E where E.RawValue == String {
        guard let v = E(rawValue: try string()) else { throw RecordDecodingError("unknown \(E.self) value") }
        return v
    }

    /// An optional string.
    mutating func optionalString() throws(RecordDecodingError) -> String? {
        try optional { (r) throws(RecordDecodingError) in try r.string() }
    }
}
