/// The platform of a vaccine (ワクチン種類).
public enum VaccinePlatform: String, Sendable, CaseIterable {
    case mRNA = "mRNA"
    case selfAmplifyingMRNA = "レプリコン(mRNA)"
    case recombinantProtein = "組換えタンパク"
    case viralVector = "ウイルスベクター"
}

/// A COVID-19 vaccine product approved and used in Japan's campaign.
public struct VaccineProduct: Sendable, Hashable, Identifiable {
    /// A short stable identifier used in generated data and tests.
    public let id: String
    /// メーカー, as the VRS lists it.
    public let manufacturer: String
    /// 製品名
    public let productName: String
    /// ワクチン種類
    public let platform: VaccinePlatform
    /// The strain the product targets, e.g. 起源株, BA.4-5, XBB.1.5, JN.1.
    public let strain: String
    /// 接種量 for people aged 12 and over, in microlitres.
    public let adultDoseMicroliters: Int
    /// First and last day the product was used in the campaign.
    public let usedFrom: LocalDate
    public let usedUntil: LocalDate

    public func isInUse(on date: LocalDate) -> Bool { usedFrom <= date && date <= usedUntil }
}

/// The products of Japan's COVID-19 campaign, 2021 onwards.
public enum VaccineCatalog {
    private static func d(_ y: Int, _ m: Int, _ day: Int) -> LocalDate {
        // The literals below are valid dates; a typo should fail loudly at start-up.
        try! LocalDate(year: y, month: m, day: day)
    }

    public static let products: [VaccineProduct] = [
        VaccineProduct(id: "comirnaty", manufacturer: "ファイザー社", productName: "コミナティ筋注",
                       platform: .mRNA, strain: "起源株", adultDoseMicroliters: 300,
                       usedFrom: d(2021, 2, 17), usedUntil: d(2022, 9, 30)),
        VaccineProduct(id: "spikevax", manufacturer: "武田/モデルナ社", productName: "スパイクバックス筋注",
                       platform: .mRNA, strain: "起源株", adultDoseMicroliters: 500,
                       usedFrom: d(2021, 5, 24), usedUntil: d(2022, 9, 30)),
        VaccineProduct(id: "vaxzevria", manufacturer: "アストラゼネカ社", productName: "バキスゼブリア筋注",
                       platform: .viralVector, strain: "起源株", adultDoseMicroliters: 500,
                       usedFrom: d(2021, 8, 3), usedUntil: d(2022, 9, 30)),
        VaccineProduct(id: "nuvaxovid", manufacturer: "武田社(ノババックス)", productName: "ヌバキソビッド筋注",
                       platform: .recombinantProtein, strain: "起源株", adultDoseMicroliters: 500,
                       usedFrom: d(2022, 5, 25), usedUntil: d(2023, 3, 31)),
        VaccineProduct(id: "comirnaty-ba45", manufacturer: "ファイザー社", productName: "コミナティRTU筋注(2価:起源株/オミクロン株BA.4-5)",
                       platform: .mRNA, strain: "BA.4-5", adultDoseMicroliters: 300,
                       usedFrom: d(2022, 10, 13), usedUntil: d(2023, 9, 19)),
        VaccineProduct(id: "spikevax-ba45", manufacturer: "武田/モデルナ社", productName: "スパイクバックス筋注(2価:起源株/オミクロン株BA.4-5)",
                       platform: .mRNA, strain: "BA.4-5", adultDoseMicroliters: 500,
                       usedFrom: d(2022, 12, 9), usedUntil: d(2023, 9, 19)),
        VaccineProduct(id: "comirnaty-xbb", manufacturer: "ファイザー社", productName: "コミナティ筋注シリンジ12歳以上用(1価:オミクロン株XBB.1.5)",
                       platform: .mRNA, strain: "XBB.1.5", adultDoseMicroliters: 300,
                       usedFrom: d(2023, 9, 20), usedUntil: d(2024, 3, 31)),
        VaccineProduct(id: "spikevax-xbb", manufacturer: "武田/モデルナ社", productName: "スパイクバックス筋注(1価:オミクロン株XBB.1.5)",
                       platform: .mRNA, strain: "XBB.1.5", adultDoseMicroliters: 500,
                       usedFrom: d(2023, 9, 20), usedUntil: d(2024, 3, 31)),
        VaccineProduct(id: "daichirona-xbb", manufacturer: "第一三共", productName: "ダイチロナ筋注(1価:オミクロン株XBB.1.5)",
                       platform: .mRNA, strain: "XBB.1.5", adultDoseMicroliters: 600,
                       usedFrom: d(2023, 12, 4), usedUntil: d(2024, 3, 31)),
        VaccineProduct(id: "comirnaty-jn1", manufacturer: "ファイザー社", productName: "コミナティ筋注シリンジ12歳以上用(1価:オミクロン株JN.1)",
                       platform: .mRNA, strain: "JN.1", adultDoseMicroliters: 300,
                       usedFrom: d(2024, 10, 1), usedUntil: d(2025, 3, 31)),
        VaccineProduct(id: "spikevax-jn1", manufacturer: "武田/モデルナ社", productName: "スパイクバックス筋注(1価:オミクロン株JN.1)",
                       platform: .mRNA, strain: "JN.1", adultDoseMicroliters: 500,
                       usedFrom: d(2024, 10, 1), usedUntil: d(2025, 3, 31)),
        VaccineProduct(id: "kostaive-jn1", manufacturer: "Meiji Seikaファルマ", productName: "コスタイベ筋注用(1価:オミクロン株JN.1)",
                       platform: .selfAmplifyingMRNA, strain: "JN.1", adultDoseMicroliters: 500,
                       usedFrom: d(2024, 10, 1), usedUntil: d(2025, 3, 31)),
    ]

    private static let byName: [String: VaccineProduct] = Dictionary(
        products.map { ($0.productName, $0) }, uniquingKeysWith: { first, _ in first })
    private static let byID: [String: VaccineProduct] = Dictionary(
        products.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })

    public static let manufacturers: Set<String> = Set(products.map(\.manufacturer))

    public static func product(named name: String) -> VaccineProduct? { byName[name] }
    public static func product(id: String) -> VaccineProduct? { byID[id] }

    /// Products in use on `date`, in catalog order.
    public static func products(inUseOn date: LocalDate) -> [VaccineProduct] {
        products.filter { $0.isInUse(on: date) }
    }
}
