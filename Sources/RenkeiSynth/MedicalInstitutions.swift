import RenkeiCore

/// A place that gave vaccinations, with its doctors.
/// A class so that passing one around the hot loop costs one retain.
final class Institution: Sendable {
    /// 実施医療機関
    let name: String
    /// 実施場所
    let place: String
    let doctors: [String]

    init(name: String, place: String, doctors: [String]) {
        self.name = name
        self.place = place
        self.doctors = doctors
    }
}

/// Hospitals, clinics, mass-vaccination sites, workplaces and care homes of
/// one municipality: real names for the best-known places of the municipalities
/// the generator knows, invented but typical names elsewhere.
struct InstitutionDirectory: Sendable {
    let hospitals: [Institution]
    let clinics: [Institution]
    let massSites: [Institution]
    let workplaces: [Institution]
    let careHomes: [Institution]
    /// Every doctor, for sites staffed by doctors from across the town.
    let allDoctors: [String]

    private static let knownHospitals: [String: [String]] = [
        "322016": ["松江市立病院", "松江赤十字病院", "松江記念病院", "松江生協病院", "松江医療センター", "鹿島病院"],
        "322024": ["浜田医療センター", "西川病院"],
        "322032": ["島根県立中央病院", "出雲市民病院", "島根大学医学部附属病院", "出雲徳洲会病院"],
        "322067": ["安来市立病院", "日立記念病院"],
        "011002": ["市立札幌病院", "札幌医科大学附属病院", "NTT東日本札幌病院"],
        "012050": ["市立室蘭総合病院", "日鋼記念病院"],
        "012131": ["苫小牧市立病院", "王子総合病院"],
        "131016": ["三井記念病院", "東京逓信病院"],
        "271004": ["大阪市立総合医療センター", "大阪赤十字病院", "北野病院"],
    ]

    private static let knownMassSites: [String: [String]] = [
        "322016": ["くにびきメッセ", "松江市総合体育館", "松江テルサ"],
        "322032": ["出雲ドーム", "出雲市民会館"],
        "011002": ["札幌コンベンションセンター", "札幌市中央体育館"],
        "131016": ["千代田区役所", "大手町合同庁舎(自衛隊大規模接種センター)"],
        "271004": ["大阪府立国際会議場", "インテックス大阪"],
    ]

    static let clinicSuffixes = ["内科クリニック", "内科医院", "医院", "クリニック", "内科・小児科", "ファミリークリニック", "診療所"]
    static let companySuffixes = ["建設株式会社", "運輸株式会社", "商事株式会社", "工業株式会社", "電機株式会社"]
    static let careHomeNames = ["やすらぎの里", "松寿園", "あおば荘", "さくら苑", "ひまわり", "清流苑", "湖畔荘", "いずみ苑"]

    init(code: MunicipalityCode, municipalityName: String, localSurnameShare: Int) {
        var rng = SeededGenerator(seed: SplitMix64.hash("institutions-" + code.rawValue))
        func doctor(_ surname: NameEntry? = nil) -> String {
            let sex: Sex = rng.chance(perMille: 250) ? .female : .male
            var name = PersonName.random(&rng, sex: sex, bornIn: 1965, localShare: localSurnameShare)
            if let surname { name = PersonName(surname: surname, given: name.given) }
            return name.full
        }
        func staff(_ count: Int) -> [String] { (0..<count).map { _ in doctor() } }

        let hospitalNames = Self.knownHospitals[code.rawValue]
            ?? [municipalityName + "立病院", String(municipalityName.dropLast()) + "中央病院",
                String(municipalityName.dropLast()) + "協立病院"]
        hospitals = hospitalNames.map { Institution(name: $0, place: $0, doctors: staff(4)) }

        var clinics: [Institution] = []
        var names: Set<String> = []
        while clinics.count < 30 {
            let owner = PersonName.random(&rng, sex: .male, bornIn: 1965, localShare: localSurnameShare).surname
            let name = owner.kanji + rng.pick(Self.clinicSuffixes)
            guard names.insert(name).inserted else { continue }
            // The clinic bears the family name of its director.
            clinics.append(Institution(name: name, place: name, doctors: [doctor(owner)] + staff(rng.below(2))))
        }
        self.clinics = clinics

        let siteNames = Self.knownMassSites[code.rawValue]
            ?? [municipalityName + "総合体育館", municipalityName + "保健センター", municipalityName + "文化会館"]
        // A mass site is run by the municipality with the local medical association.
        massSites = siteNames.map { Institution(name: municipalityName + "集団接種会場", place: $0, doctors: []) }

        workplaces = (0..<6).map { _ in
            let company = PersonName.random(&rng, sex: .male, bornIn: 1950, localShare: localSurnameShare).surname.kanji
                + rng.pick(Self.companySuffixes)
            return Institution(name: company + "診療所", place: company + "　職域接種会場", doctors: staff(2))
        }

        careHomes = Self.careHomeNames.map { home in
            let visitor = clinics[rng.below(clinics.count)]
            return Institution(name: visitor.name, place: "特別養護老人ホーム" + home, doctors: visitor.doctors)
        }

        allDoctors = (hospitals + clinics + workplaces).flatMap(\.doctors)
    }
}
