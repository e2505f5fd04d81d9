/// Sex as the resident register records it (住民基本台帳: 1 男, 2 女).
public enum Sex: Int, Sendable, Hashable, CaseIterable {
    case male = 1
    case female = 2

    public static let field = FieldName("sex", "性別")

    /// Accepts `1`/`2`, `男`/`女` and `M`/`F`.
    public init(parsing text: String) throws(ValidationError) {
        switch text {
        case "1", "男", "M", "m": self = .male
        case "2", "女", "F", "f": self = .female
        default: throw ValidationError(Self.field, .unknownValue, "must be 1 (男) or 2 (女)")
        }
    }

    public var japanese: String { self == .male ? "男" : "女" }
}

/// A move into or out of the municipality, with the other municipality.
public struct MoveEvent: Sendable, Hashable {
    public let date: LocalDate
    /// Where the person came from (move-in) or went to (move-out).
    public let otherMunicipality: MunicipalityCode

    public init(date: LocalDate, otherMunicipality: MunicipalityCode) {
        self.date = date
        self.otherMunicipality = otherMunicipality
    }
}

/// A resident of a municipality: identification, the four basic facts
/// (基本4情報) and the flags the vaccination work needs.
public struct Resident: Sendable, Hashable {
    public let addressNumber: AddressNumber
    public let individualNumber: IndividualNumber
    /// 氏名
    public let name: String
    /// 氏名カナ (full-width katakana)
    public let nameKana: String
    public let dateOfBirth: LocalDate
    public let sex: Sex
    /// 住所
    public let address: String
    /// 転入: moved in from another municipality.
    public let movedIn: MoveEvent?
    /// 転出: moved out to another municipality (転出フラグ).
    public let movedOut: MoveEvent?
    /// 死亡日 (死亡フラグ).
    public let deceasedOn: LocalDate?

    public static let maxNameCharacters = 60
    public static let maxAddressCharacters = 200

    public enum Field {
        public static let name = FieldName("name", "氏名")
        public static let nameKana = FieldName("nameKana", "氏名カナ")
        public static let dateOfBirth = FieldName("dateOfBirth", "生年月日")
        public static let address = FieldName("address", "住所")
        public static let movedInOn = FieldName("movedInOn", "転入日")
        public static let movedInFrom = FieldName("movedInFrom", "転入元自治体コード")
        public static let movedOutOn = FieldName("movedOutOn", "転出日")
        public static let movedOutTo = FieldName("movedOutTo", "転出先自治体コード")
        public static let deceasedOn = FieldName("deceasedOn", "死亡日")
    }

    /// Checks every rule; the first broken one is thrown.
    public init(
        addressNumber: AddressNumber,
        individualNumber: IndividualNumber,
        name: String,
        nameKana: String,
        dateOfBirth: LocalDate,
        sex: Sex,
        address: String,
        movedIn: MoveEvent? = nil,
        movedOut: MoveEvent? = nil,
        deceasedOn: LocalDate? = nil
    ) throws(ValidationError) {
        try TextRules.check(name, field: Field.name, maxCharacters: Self.maxNameCharacters)
        try TextRules.check(nameKana, field: Field.nameKana, maxCharacters: Self.maxNameCharacters)
        try TextRules.checkKatakana(nameKana, field: Field.nameKana)
        try TextRules.check(address, field: Field.address, maxCharacters: Self.maxAddressCharacters)
        if let movedIn, movedIn.date < dateOfBirth {
            throw ValidationError(Field.movedInOn, .inconsistent, "must not be before the date of birth")
        }
        if let movedOut {
            if movedOut.date < dateOfBirth {
                throw ValidationError(Field.movedOutOn, .inconsistent, "must not be before the date of birth")
            }
            if let movedIn, movedOut.date < movedIn.date {
                throw ValidationError(Field.movedOutOn, .inconsistent, "must not be before the move-in date")
            }
        }
        if let deceasedOn, deceasedOn < dateOfBirth {
            throw ValidationError(Field.deceasedOn, .inconsistent, "must not be before the date of birth")
        }
        self.addressNumber = addressNumber
        self.individualNumber = individualNumber
        self.name = name
        self.nameKana = nameKana
        self.dateOfBirth = dateOfBirth
        self.sex = sex
        self.address = address
        self.movedIn = movedIn
        self.movedOut = movedOut
        self.deceasedOn = deceasedOn
    }

    /// Living here: neither moved out nor deceased.
    public var isCurrentResident: Bool { movedOut == nil && deceasedOn == nil }
}

/// Rules shared by free-text fields.
public enum TextRules {
    /// Non-empty after trimming, at most `maxCharacters`, no control characters.
    public static func check(_ text: String, field: FieldName, maxCharacters: Int, required: Bool = true) throws(ValidationError) {
        if text.isEmpty {
            if required { throw ValidationError(field, .required, "is required") }
            return
        }
        // A character is at least one UTF-8 byte, so only long texts need counting.
        guard text.utf8.count <= maxCharacters || text.count <= maxCharacters else {
            throw ValidationError(field, .length, "must be at most \(maxCharacters) characters")
        }
        // Control characters (Cc) are U+0000–U+001F and U+007F–U+009F: a byte
        // scan finds them without Unicode property lookups (U+0080–U+009F are
        // encoded as 0xC2 0x80–0x9F).
        var previous: UInt8 = 0
        for byte in text.utf8 {
            if byte < 0x20 || byte == 0x7F || (previous == 0xC2 && byte >= 0x80 && byte <= 0x9F) {
                throw ValidationError(field, .format, "must not contain control characters")
            }
            previous = byte
        }
    }

    /// Full-width katakana, the prolonged sound mark, the middle dot and spaces.
    public static func checkKatakana(_ text: String, field: FieldName) throws(ValidationError) {
        for scalar in text.unicodeScalars {
            let v = scalar.value
            let ok = (0x30A1...0x30FA).contains(v) || v == 0x30FC || v == 0x30FB || v == 0x3000 || v == 0x20
            guard ok else {
                throw ValidationError(field, .format, "must be written in full-width katakana")
            }
        }
    }
}
