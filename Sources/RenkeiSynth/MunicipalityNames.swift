import RenkeiCore

/// Names of prefectures and of the municipalities the synthetic data knows
/// well enough to give real town names and hospitals.
public enum MunicipalityNames {
    /// 都道府県名 by prefecture number; index 0 is unused so that the number
    /// indexes the table directly.
    static let prefectures: [String] = [
        "",
        "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県",
        "茨城県", "栃木県", "群馬県", "埼玉県", "千葉県", "東京都", "神奈川県",
        "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県",
        "静岡県", "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県",
        "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県", "広島県", "山口県",
        "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県",
        "熊本県", "大分県", "宮崎県", "鹿児島県", "沖縄県",
    ]

    /// Real codes (check digit included) and names. Also the pool that
    /// move-in origins and move-out destinations are drawn from, so those are
    /// always valid codes of real places.
    static let known: [(code: String, name: String)] = [
        ("011002", "札幌市"), ("012025", "函館市"), ("012033", "小樽市"), ("012041", "旭川市"),
        ("012050", "室蘭市"), ("012131", "苫小牧市"), ("041009", "仙台市"),
        ("131016", "千代田区"), ("131024", "中央区"), ("131032", "港区"), ("131041", "新宿区"),
        ("132012", "八王子市"), ("141003", "横浜市"), ("141305", "川崎市"), ("231002", "名古屋市"),
        ("261009", "京都市"), ("271004", "大阪市"), ("271403", "堺市"), ("281000", "神戸市"),
        ("312011", "鳥取市"), ("312029", "米子市"),
        ("322016", "松江市"), ("322024", "浜田市"), ("322032", "出雲市"), ("322041", "益田市"),
        ("322059", "大田市"), ("322067", "安来市"), ("322075", "江津市"), ("322091", "雲南市"),
        ("331007", "岡山市"), ("341002", "広島市"), ("401005", "北九州市"), ("401307", "福岡市"),
        ("472018", "那覇市"),
    ]

    private static let byCode: [String: String] = Dictionary(
        known.map { ($0.code, $0.name) }, uniquingKeysWith: { first, _ in first })

    /// Every municipality code this table names, in code order.
    public static let knownCodes: [MunicipalityCode] = known.map {
        // The table above is checked by a test; a typo should fail loudly.
        try! MunicipalityCode($0.code)
    }

    /// The municipality's name (e.g. 322016 → 松江市), or nil if the table
    /// does not know the code.
    public static func name(of code: MunicipalityCode) -> String? { byCode[code.rawValue] }

    /// The prefecture's name by number (32 → 島根県), or nil outside 1–47.
    public static func prefectureName(number: Int) -> String? {
        (1...47).contains(number) ? prefectures[number] : nil
    }

    /// The name of the prefecture a code belongs to, from its first two digits.
    public static func prefectureName(of code: MunicipalityCode) -> String? {
        prefectureName(number: code.prefectureNumber)
    }

    /// Prefecture and municipality as an address begins (322016 → 島根県松江市),
    /// or nil if the municipality is not known.
    public static func fullName(of code: MunicipalityCode) -> String? {
        guard let name = name(of: code) else { return nil }
        return (prefectureName(of: code) ?? "") + name
    }
}
