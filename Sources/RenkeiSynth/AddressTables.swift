import RenkeiCore

/// A town (町名) and how its lots are numbered: `chome` > 0 means the town is
/// divided into that many 丁目 and written 丁目・番・号; 0 means 番地.
struct Town: Sendable {
    let name: String
    let chome: Int
}

/// Real town names for the municipalities the generator knows, and a generic
/// fallback, so addresses look like those in a real register.
enum AddressTables {
    private static func t(_ name: String, _ chome: Int = 0) -> Town { Town(name: name, chome: chome) }

    static let townsByCode: [String: [Town]] = [
        // 松江市: the old castle town, the suburbs and the towns merged in 2005/2011.
        "322016": [
            t("末次町"), t("殿町"), t("母衣町"), t("学園南", 2), t("学園", 2), t("東津田町"), t("西津田", 10),
            t("浜乃木", 8), t("古志原", 7), t("春日町"), t("黒田町"), t("北田町"), t("上乃木", 10),
            t("乃木福富町"), t("玉湯町湯町"), t("美保関町七類"), t("八雲町西岩坂"), t("鹿島町佐陀本郷"),
            t("宍道町宍道"), t("東出雲町揖屋"), t("朝日町"), t("伊勢宮町"), t("東本町", 5), t("袖師町"),
            t("西川津町"), t("東川津町"), t("法吉町"), t("比津町"), t("嫁島町"), t("大庭町"), t("竹矢町"),
            t("八束町波入"), t("北陵町"), t("田和山町"), t("雑賀町"), t("天神町"), t("白潟本町"), t("魚町"),
            t("南田町"), t("外中原町"), t("西持田町"), t("八幡町"), t("浜佐田町"), t("馬潟町"), t("矢田町"),
        ],
        "322024": [  // 浜田市
            t("浜田町"), t("殿町"), t("黒川町"), t("朝日町"), t("港町"), t("田町"), t("原井町"), t("松原町"),
            t("熱田町"), t("長沢町"), t("相生町"), t("竹迫町"), t("三隅町三隅"), t("金城町下来原"),
            t("旭町今市"), t("弥栄町長安本郷"),
        ],
        "322032": [  // 出雲市
            t("今市町"), t("塩冶町"), t("大津町"), t("渡橋町"), t("知井宮町"), t("高岡町"), t("白枝町"),
            t("矢野町"), t("天神町"), t("下古志町"), t("大社町杵築南"), t("平田町"), t("斐川町直江"),
            t("斐川町荘原"), t("湖陵町二部"), t("多伎町小田"), t("佐田町反辺"),
        ],
        "322041": [  // 益田市
            t("駅前町"), t("有明町"), t("乙吉町"), t("高津町"), t("元町"), t("昭和町"), t("東町"),
            t("匹見町匹見"), t("美都町都茂"),
        ],
        "322059": [  // 大田市
            t("大田町大田"), t("久手町波根西"), t("温泉津町温泉津"), t("仁摩町仁万"), t("長久町長久"), t("川合町川合"),
        ],
        "322067": [  // 安来市
            t("安来町"), t("飯島町"), t("島田町"), t("荒島町"), t("赤江町"), t("西赤江町"), t("広瀬町広瀬"),
            t("伯太町東母里"), t("黒井田町"), t("門生町"), t("吉佐町"), t("佐久保町"),
        ],
        "322075": [  // 江津市
            t("江津町"), t("和木町"), t("嘉久志町"), t("渡津町"), t("桜江町川戸"), t("都野津町"),
        ],
        "322091": [  // 雲南市
            t("木次町木次"), t("三刀屋町三刀屋"), t("加茂町加茂中"), t("大東町大東"), t("掛合町掛合"), t("吉田町吉田"),
        ],
        "011002": [  // 札幌市: ward, then the 条・丁目 grid
            t("中央区大通西", 20), t("中央区宮の森1条", 18), t("北区北24条西", 15), t("東区北15条東", 10),
            t("白石区本通", 20), t("豊平区平岸2条", 17), t("西区琴似1条", 7), t("厚別区厚別中央2条", 6),
            t("清田区清田1条", 4), t("手稲区前田1条", 13), t("南区真駒内幸町", 3),
        ],
        "012050": [  // 室蘭市
            t("中島町", 6), t("東町", 5), t("輪西町", 3), t("母恋北町", 2), t("知利別町", 5), t("白鳥台", 6),
            t("本輪西町", 4), t("高砂町", 5), t("海岸町", 3), t("絵鞆町", 4), t("宮の森町", 3),
        ],
        "012131": [  // 苫小牧市
            t("表町", 6), t("本町", 2), t("幸町", 2), t("若草町", 5), t("緑町", 3), t("日吉町", 4), t("光洋町", 3),
            t("澄川町", 8), t("沼ノ端中央", 7), t("明野新町", 6), t("柏木町", 4), t("弥生町", 3),
        ],
        "131016": [  // 千代田区
            t("丸の内", 3), t("大手町", 2), t("霞が関", 3), t("永田町", 2), t("神田神保町", 3), t("九段南", 4),
            t("九段北", 4), t("麹町", 6), t("一番町"), t("富士見", 2), t("飯田橋", 4), t("有楽町", 2), t("平河町", 2),
        ],
        "271004": [  // 大阪市
            t("北区梅田", 3), t("中央区難波", 5), t("天王寺区上本町", 9), t("西区新町", 4), t("浪速区日本橋", 5),
            t("都島区東野田町", 5), t("阿倍野区阿倍野筋", 6), t("淀川区西中島", 7), t("住吉区長居", 4),
            t("東淀川区淡路", 4),
        ],
    ]

    /// Common town names found all over Japan, for municipalities without a table.
    static let genericTowns: [Town] = [
        t("本町", 3), t("栄町", 2), t("緑町", 4), t("旭町"), t("幸町", 2), t("新町"), t("中央", 5), t("大手町"),
        t("寿町", 3), t("末広町"), t("錦町", 2), t("昭和町"), t("若葉町", 3), t("東町"), t("西町"), t("南町", 2),
        t("北町"), t("元町"), t("港町", 3), t("桜町"), t("松原町"), t("宮前町"), t("駅前", 2), t("城山", 3),
        t("泉町"), t("朝日町", 4), t("日の出町"), t("住吉町"), t("春日町", 2), t("八幡町"),
    ]

    /// Invented municipality names for codes the table does not know: the
    /// address still needs one, and a real name would be misleading.
    static let fictionalMunicipalities = [
        "青葉市", "桜台市", "緑川町", "朝日野市", "若松台市", "北原町", "南浜市", "東山町", "西野市", "泉ヶ丘市",
    ]

    static let buildingStems = ["コーポ", "ハイツ", "メゾン", "レジデンス", "パレス", "グランドール", "サンハイム"]

    /// Half-width decimal numerals 0…2999, built once so that the hot loop
    /// never formats numbers.
    static let numerals: [String] = (0..<3000).map { String($0) }
}

/// Builds addresses inside one municipality.
struct AddressBook: Sendable {
    /// 都道府県 + 市区町村, e.g. 島根県松江市.
    let prefix: String
    /// The municipality's name, invented for codes the tables do not know.
    let municipalityName: String
    let towns: [Town]
    /// One building name per town, so a town's flats share a believable name.
    let buildings: [String]

    init(code: MunicipalityCode) {
        let prefecture = MunicipalityNames.prefectureName(of: code) ?? ""
        let name = MunicipalityNames.name(of: code)
            ?? AddressTables.fictionalMunicipalities[
                Int(SplitMix64.hash(code.rawValue) % UInt64(AddressTables.fictionalMunicipalities.count))]
        municipalityName = name
        prefix = prefecture + name
        towns = AddressTables.townsByCode[code.rawValue] ?? AddressTables.genericTowns
        buildings = towns.enumerated().map { i, town in
            let stem = AddressTables.buildingStems[i % AddressTables.buildingStems.count]
            // 札幌市's "中央区大通西" → "大通西": a building is named after its street, not its ward.
            let base = town.name.split(separator: "区").last.map(String.init) ?? town.name
            return stem + base
        }
    }

    /// A full address: prefecture, municipality, town, lot and sometimes a flat.
    func address(_ rng: inout SeededGenerator) -> String {
        let n = AddressTables.numerals
        let townIndex = rng.skewedIndex(towns.count)
        let town = towns[townIndex]
        var s = prefix
        s.reserveCapacity(prefix.utf8.count + 64)
        s += town.name
        if town.chome > 0 {
            s += n[rng.between(1...town.chome)]
            s += "丁目"
            s += n[rng.between(1...30)]
            s += "番"
            s += n[rng.between(1...25)]
            s += "号"
        } else {
            // Lot numbers cluster low, with long tails in rural 大字.
            s += n[1 + rng.skewedIndex(2500)]
            s += "番地"
            if rng.chance(perMille: 400) { s += n[rng.between(1...30)] }
        }
        if rng.chance(perMille: 150) {
            s += "　"
            s += buildings[townIndex]
            s += n[rng.between(1...4)]
            s += "0"
            s += n[rng.between(1...8)]
            s += "号室"
        }
        return s
    }
}
