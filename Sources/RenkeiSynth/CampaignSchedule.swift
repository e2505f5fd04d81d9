import RenkeiCore

/// Days since 1970-01-01 of a literal date; the literals are all valid.
@inline(__always)
func day(_ y: Int, _ m: Int, _ d: Int) -> Int {
    try! LocalDate(year: y, month: m, day: d).daysSinceEpoch
}

/// One round of Japan's COVID-19 campaign, as dates and uptake.
///
/// Uptake is what share of an age band took part, in per-mille. A person's
/// single "willingness" draw is compared with every round's uptake, so the
/// people in a later, smaller round are mostly those of the earlier ones and
/// dose counts fall off the way the real ones did.
final class CampaignPhase: Sendable {
    enum Shape: Sendable {
        /// Demand was held back by supply: the peak is mid-window.
        case middle
        /// Those who wanted a booster came in the first weeks.
        case early
    }

    let name: String
    /// First day of the round, end of its main wave, last day of the round.
    let start: Int
    let peakEnd: Int
    let end: Int
    let shape: Shape
    /// Share of doses given after the main wave, per-mille.
    let tailPerMille: Int
    /// Uptake by band of age at `start`: 5–11, 12–19, 20–39, 40–59, 60–64, 65+.
    let uptake: [Int]
    /// Youngest age on the day of the dose.
    let minAge: Int
    /// Oldest age on the day of the first dose (children's round only).
    let maxAge: Int
    /// Doses already needed to join (2 = primary series complete).
    let requiresDoses: Int
    /// Shortest interval since the previous dose.
    let minGapDays: Int
    /// Product ids and relative weights; only those in use on the day count.
    let products: [(id: String, weight: Int)]
    /// Doses in the round: 2 for a primary series, 1 for a booster.
    let doses: Int
    /// `start` as a date, for age calculations in the hot loop.
    let startDate: LocalDate

    init(name: String, start: Int, peakEnd: Int, end: Int, shape: Shape, tailPerMille: Int, uptake: [Int],
         minAge: Int, maxAge: Int, requiresDoses: Int, minGapDays: Int, products: [(id: String, weight: Int)], doses: Int) {
        self.name = name
        self.start = start
        self.peakEnd = peakEnd
        self.end = end
        self.shape = shape
        self.tailPerMille = tailPerMille
        self.uptake = uptake
        self.minAge = minAge
        self.maxAge = maxAge
        self.requiresDoses = requiresDoses
        self.minGapDays = minGapDays
        self.products = products
        self.doses = doses
        self.startDate = LocalDate(daysSinceEpoch: start)
    }

    @inline(__always)
    static func band(age: Int) -> Int {
        switch age {
        case ..<5: return -1
        case ..<12: return 0
        case ..<20: return 1
        case ..<40: return 2
        case ..<60: return 3
        case ..<65: return 4
        default: return 5
        }
    }

    /// The round's uptake for someone aged `age` at its start, per-mille.
    @inline(__always)
    func uptake(age: Int) -> Int {
        let b = Self.band(age: age)
        return b < 0 ? 0 : uptake[b]
    }

    /// A day in the round following its shape.
    func sampleDay(start: Int, peakEnd: Int, _ rng: inout SeededGenerator) -> Int {
        if end > peakEnd, rng.chance(perMille: tailPerMille) {
            return peakEnd + 1 + rng.below(end - peakEnd)
        }
        let span = peakEnd - start + 1
        switch shape {
        case .middle: return start + (rng.below(span) + rng.below(span)) / 2
        case .early: return start + rng.skewedIndex(span)
        }
    }
}

/// The rounds of Japan's campaign, from the first doses in spring 2021 to the
/// routine (定期接種) autumn 2024 round for those aged 65 and over.
enum CampaignSchedule {
    /// The special temporary vaccination (特例臨時接種) ended on this day.
    static let specialTemporaryEnd = day(2024, 3, 31)

    /// Priority for the first doses went to those 65 or over by 31 March 2022.
    static let elderlyPriorityReference = day(2022, 3, 31)
    static let elderlyPrimaryStart = day(2021, 4, 12)
    static let elderlyPrimaryPeakEnd = day(2021, 7, 31)

    /// Age on this day decides between the children's and the general primary series.
    static let childrenReference = day(2022, 2, 21)

    /// Children aged 5–11 (Pfizer's paediatric formulation, 0.2 mL).
    static let children = CampaignPhase(
        name: "小児初回", start: day(2022, 2, 21), peakEnd: day(2022, 5, 31), end: day(2022, 9, 30),
        shape: .middle, tailPerMille: 150, uptake: [200, 0, 0, 0, 0, 0], minAge: 5, maxAge: 11,
        requiresDoses: 0, minGapDays: 0, products: [("comirnaty", 1)], doses: 2)

    /// First and second doses for everyone 12 and over; 65+ from April 2021.
    static let primary = CampaignPhase(
        name: "初回接種", start: day(2021, 6, 1), peakEnd: day(2021, 10, 31), end: specialTemporaryEnd,
        shape: .middle, tailPerMille: 60, uptake: [0, 680, 720, 820, 860, 920], minAge: 12, maxAge: 200,
        requiresDoses: 0, minGapDays: 0,
        products: [("comirnaty", 780), ("spikevax", 210), ("vaxzevria", 5), ("nuvaxovid", 5),
                   ("comirnaty-xbb", 700), ("spikevax-xbb", 300)],
        doses: 2)

    /// Later rounds, in date order: one booster dose each.
    static let boosters: [CampaignPhase] = [
        CampaignPhase(
            name: "3回目", start: day(2021, 12, 1), peakEnd: day(2022, 4, 30), end: specialTemporaryEnd,
            shape: .early, tailPerMille: 80, uptake: [0, 400, 520, 700, 800, 890], minAge: 12, maxAge: 200,
            requiresDoses: 2, minGapDays: 152,
            products: [("comirnaty", 600), ("spikevax", 390), ("nuvaxovid", 10),
                       ("comirnaty-ba45", 700), ("spikevax-ba45", 300), ("comirnaty-xbb", 700), ("spikevax-xbb", 300)],
            doses: 1),
        CampaignPhase(
            name: "4回目(60歳以上・基礎疾患)", start: day(2022, 5, 25), peakEnd: day(2022, 7, 31), end: day(2022, 9, 30),
            shape: .early, tailPerMille: 100, uptake: [0, 0, 40, 60, 600, 820], minAge: 18, maxAge: 200,
            requiresDoses: 3, minGapDays: 152,
            products: [("comirnaty", 550), ("spikevax", 440), ("nuvaxovid", 10)], doses: 1),
        CampaignPhase(
            name: "オミクロン株対応2価(令和4年秋開始)", start: day(2022, 10, 13), peakEnd: day(2022, 12, 31), end: day(2023, 5, 7),
            shape: .early, tailPerMille: 120, uptake: [0, 150, 250, 360, 500, 720], minAge: 12, maxAge: 200,
            requiresDoses: 2, minGapDays: 90,
            products: [("comirnaty-ba45", 750), ("spikevax-ba45", 240), ("nuvaxovid", 10)], doses: 1),
        CampaignPhase(
            name: "令和5年春開始(65歳以上・基礎疾患)", start: day(2023, 5, 8), peakEnd: day(2023, 6, 30), end: day(2023, 9, 19),
            shape: .early, tailPerMille: 100, uptake: [0, 0, 30, 30, 60, 600], minAge: 12, maxAge: 200,
            requiresDoses: 2, minGapDays: 90,
            products: [("comirnaty-ba45", 700), ("spikevax-ba45", 300)], doses: 1),
        CampaignPhase(
            name: "令和5年秋開始(XBB.1.5)", start: day(2023, 9, 20), peakEnd: day(2023, 11, 30), end: specialTemporaryEnd,
            shape: .early, tailPerMille: 120, uptake: [0, 70, 100, 180, 300, 520], minAge: 12, maxAge: 200,
            requiresDoses: 2, minGapDays: 90,
            products: [("comirnaty-xbb", 650), ("spikevax-xbb", 300), ("daichirona-xbb", 50)], doses: 1),
        CampaignPhase(
            name: "令和6年度定期接種(JN.1)", start: day(2024, 10, 1), peakEnd: day(2024, 12, 31), end: day(2025, 3, 31),
            shape: .early, tailPerMille: 150, uptake: [0, 3, 5, 5, 20, 250], minAge: 12, maxAge: 200,
            requiresDoses: 2, minGapDays: 90,
            products: [("comirnaty-jn1", 550), ("spikevax-jn1", 300), ("kostaive-jn1", 80)], doses: 1),
    ]

    /// The second dose's interval by product, in days (Pfizer 21, Moderna 28,
    /// AstraZeneca 4–12 weeks, Novavax 21).
    static func secondDoseInterval(productID: String) -> Int {
        switch productID {
        case "spikevax", "spikevax-xbb": return 28
        case "vaxzevria": return 56
        default: return 21
        }
    }

    /// The 接種種別 of a dose: special temporary until March 2024, then
    /// routine for those 65 and over (and 60–64 with conditions), voluntary
    /// for the rest.
    static func kind(onDay d: Int, age: Int) -> VaccinationKind {
        if d <= specialTemporaryEnd { return .specialTemporary }
        return age >= 60 ? .routine : .voluntary
    }
}

/// A catalog product with what the hot loop needs precomputed: its days of
/// use as integers, its lots, its second-dose interval.
final class CatalogEntry: Sendable {
    let product: VaccineProduct
    let fromDay: Int
    let untilDay: Int
    let lots: [String]
    let isModerna: Bool
    let isPfizer: Bool
    let secondDoseInterval: Int

    init(_ product: VaccineProduct) {
        self.product = product
        fromDay = product.usedFrom.daysSinceEpoch
        untilDay = product.usedUntil.daysSinceEpoch
        lots = LotNumbers.table[product.id]!
        isModerna = product.manufacturer == "武田/モデルナ社"
        isPfizer = product.manufacturer == "ファイザー社"
        secondDoseInterval = CampaignSchedule.secondDoseInterval(productID: product.id)
    }

    @inline(__always)
    func isInUse(onDay d: Int) -> Bool { fromDay <= d && d <= untilDay }

    /// The lot in use around day `d`, give or take a neighbouring lot: lots
    /// were shipped one after another over the product's period of use.
    func lot(day d: Int, _ rng: inout SeededGenerator) -> String {
        var i = (d - fromDay) * lots.count / (untilDay - fromDay + 1) + rng.between(-1...1)
        i = max(0, min(lots.count - 1, i))
        return lots[i]
    }
}

/// Resolves product ids to catalog products once, and draws a product in use
/// on a given day.
struct ProductChooser: Sendable {
    private let catalog: [CatalogEntry]
    private let resolved: [[(entry: CatalogEntry, weight: Int)]]

    init(phases: [CampaignPhase]) {
        let catalog = VaccineCatalog.products.map(CatalogEntry.init)
        self.catalog = catalog
        resolved = phases.map { phase in
            phase.products.map { item in
                // Every id in the schedule is in the catalog; checked by a test.
                (catalog.first { $0.product.id == item.id }!, item.weight)
            }
        }
    }

    /// A product of phase `phaseIndex` in use on day `d`, weighted; failing
    /// that, any catalog product in use that day (as
    /// `VaccineCatalog.products(inUseOn:)` lists them); nil if none was.
    func choose(phaseIndex: Int, day d: Int, preferModerna: Bool, _ rng: inout SeededGenerator) -> CatalogEntry? {
        let candidates = resolved[phaseIndex]
        var total = 0
        for c in candidates where c.entry.isInUse(onDay: d) {
            if preferModerna && c.entry.isModerna { return c.entry }
            total += c.weight
        }
        if total > 0 {
            var r = rng.below(total)
            for c in candidates where c.entry.isInUse(onDay: d) {
                if r < c.weight { return c.entry }
                r -= c.weight
            }
        }
        let inUse = catalog.filter { $0.isInUse(onDay: d) }
        return inUse.isEmpty ? nil : rng.pick(inUse)
    }
}

/// Lot numbers in each manufacturer's style, a few dozen per product, handed
/// out in order over the product's period of use as real lots were.
enum LotNumbers {
    static let lotsPerProduct = 36

    static let table: [String: [String]] = {
        var result: [String: [String]] = [:]
        let letters = Array("ABCDEFGHJKLMNPRSTUVWXYZ").map(String.init)
        func digits(_ rng: inout SeededGenerator, _ count: Int) -> String {
            var s = ""
            for _ in 0..<count { s += String(rng.below(10)) }
            return s
        }
        for product in VaccineCatalog.products {
            var rng = SeededGenerator(seed: SplitMix64.hash(product.id))
            var lots: [String] = []
            var seen: Set<String> = []
            while lots.count < lotsPerProduct {
                let lot: String
                switch product.manufacturer {
                case "ファイザー社":  // e.g. FF2782, EY0779
                    lot = ["E", "F", "G", "H"][rng.below(4)] + rng.pick(letters) + digits(&rng, 4)
                case "武田/モデルナ社":  // e.g. 3004734
                    lot = "300" + digits(&rng, 4)
                case "アストラゼネカ社":  // e.g. ABV5811
                    lot = "AB" + rng.pick(letters) + digits(&rng, 4)
                case "武田社(ノババックス)":  // e.g. 4300103
                    lot = "430" + digits(&rng, 4)
                case "第一三共":
                    lot = "DS" + digits(&rng, 5)
                default:
                    lot = "MS" + digits(&rng, 4) + "A"
                }
                if seen.insert(lot).inserted { lots.append(lot) }
            }
            result[product.id] = lots
        }
        return result
    }()
}
