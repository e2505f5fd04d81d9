import RenkeiCore

/// A name in kanji with its full-width katakana reading.
struct NameEntry: Sendable {
    let kanji: String
    let kana: String
}

/// Surnames and given names with readings. Tables are ordered roughly from
/// most to least common, which `SeededGenerator.skewedIndex` relies on.
enum NameTables {
    private static func table(_ text: String) -> [NameEntry] {
        // "漢字:カナ" pairs separated by spaces keep the tables compact and
        // make a missing reading impossible to overlook.
        text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map { pair in
            let parts = pair.split(separator: ":")
            precondition(parts.count == 2, "bad name table entry")
            return NameEntry(kanji: String(parts[0]), kana: String(parts[1]))
        }
    }

    /// The most common surnames nationwide, by rank.
    static let surnames: [NameEntry] = table("""
        佐藤:サトウ 鈴木:スズキ 高橋:タカハシ 田中:タナカ 伊藤:イトウ 渡辺:ワタナベ 山本:ヤマモト 中村:ナカムラ
        小林:コバヤシ 加藤:カトウ 吉田:ヨシダ 山田:ヤマダ 佐々木:ササキ 山口:ヤマグチ 松本:マツモト 井上:イノウエ
        木村:キムラ 林:ハヤシ 斎藤:サイトウ 清水:シミズ 山崎:ヤマザキ 森:モリ 池田:イケダ 橋本:ハシモト
        阿部:アベ 石川:イシカワ 山下:ヤマシタ 中島:ナカジマ 石井:イシイ 小川:オガワ 前田:マエダ 岡田:オカダ
        長谷川:ハセガワ 藤田:フジタ 後藤:ゴトウ 近藤:コンドウ 村上:ムラカミ 遠藤:エンドウ 青木:アオキ 坂本:サカモト
        斉藤:サイトウ 福田:フクダ 太田:オオタ 西村:ニシムラ 藤井:フジイ 金子:カネコ 岡本:オカモト 藤原:フジワラ
        中野:ナカノ 三浦:ミウラ 原田:ハラダ 中川:ナカガワ 松田:マツダ 竹内:タケウチ 小野:オノ 田村:タムラ
        中山:ナカヤマ 和田:ワダ 石田:イシダ 森田:モリタ 上田:ウエダ 原:ハラ 内田:ウチダ 柴田:シバタ
        酒井:サカイ 宮崎:ミヤザキ 横山:ヨコヤマ 高木:タカギ 安藤:アンドウ 宮本:ミヤモト 大野:オオノ 小島:コジマ
        谷口:タニグチ 今井:イマイ 工藤:クドウ 高田:タカダ 増田:マスダ 丸山:マルヤマ 杉山:スギヤマ 村田:ムラタ
        大塚:オオツカ 新井:アライ 小山:コヤマ 平野:ヒラノ 藤本:フジモト 河野:コウノ 上野:ウエノ 野口:ノグチ
        武田:タケダ 松井:マツイ 千葉:チバ 岩崎:イワサキ 菅原:スガワラ 木下:キノシタ 久保:クボ 佐野:サノ
        野村:ノムラ 松尾:マツオ 市川:イチカワ 菊地:キクチ 杉本:スギモト 古川:フルカワ 大西:オオニシ 島田:シマダ
        """)

    /// Surnames typical of Shimane (出雲・石見), mixed in more heavily there.
    static let shimaneSurnames: [NameEntry] = table("""
        原:ハラ 石倉:イシクラ 福間:フクマ 景山:カゲヤマ 錦織:ニシコリ 周藤:スドウ 陶山:スヤマ 門脇:カドワキ
        松浦:マツウラ 槇原:マキハラ 多久和:タクワ 三島:ミシマ 持田:モチダ 安達:アダチ 伊達:ダテ 大国:オオクニ
        加納:カノウ 細田:ホソダ 岸本:キシモト 田部:タナベ 吾郷:アゴウ 福島:フクシマ 渡部:ワタナベ 妹尾:セノオ
        勝部:カツベ 和泉:イズミ 金山:カナヤマ 小村:コムラ 寺本:テラモト 石原:イシハラ 藤江:フジエ 岩成:イワナリ
        """)

    /// Given names by sex and by generation: [male, female][era], era 0 born
    /// before 1951, 1 born 1951–1985, 2 born 1986 or later. A 90-year-old
    /// called 陽翔 would give the data away as fake.
    static let givenNames: [[[NameEntry]]] = [
        [
            table("""
                清:キヨシ 茂:シゲル 博:ヒロシ 実:ミノル 勇:イサム 進:ススム 稔:ミノル 正:タダシ 武:タケシ
                弘:ヒロシ 勝:マサル 隆:タカシ 昭:アキラ 修:オサム 豊:ユタカ 正雄:マサオ 一郎:イチロウ
                正男:マサオ 三郎:サブロウ 和夫:カズオ 幸雄:ユキオ 義雄:ヨシオ 秀夫:ヒデオ 信夫:ノブオ 忠:タダシ
                """),
            table("""
                誠:マコト 浩:ヒロシ 健二:ケンジ 剛:ツヨシ 哲也:テツヤ 直樹:ナオキ 英樹:ヒデキ 和彦:カズヒコ
                浩二:コウジ 達也:タツヤ 大輔:ダイスケ 拓也:タクヤ 隆之:タカユキ 聡:サトシ 学:マナブ 修一:シュウイチ
                雅之:マサユキ 克也:カツヤ 秀樹:ヒデキ 淳:ジュン 智也:トモヤ 伸一:シンイチ 康弘:ヤスヒロ 正樹:マサキ 健一:ケンイチ
                """),
            table("""
                翔:ショウ 大翔:ヒロト 蓮:レン 悠真:ユウマ 湊:ミナト 陽翔:ハルト 樹:イツキ 颯太:ソウタ 悠人:ユウト
                陸:リク 翔太:ショウタ 拓海:タクミ 大樹:ダイキ 健太:ケンタ 海斗:カイト 駿:シュン 優斗:ユウト
                蒼:アオイ 朝陽:アサヒ 律:リツ 颯:ハヤテ 奏太:ソウタ 結翔:ユイト 隼人:ハヤト 大和:ヤマト
                """),
        ],
        [
            table("""
                和子:カズコ 幸子:サチコ 節子:セツコ 洋子:ヨウコ 美代子:ミヨコ 恵子:ケイコ 京子:キョウコ 久子:ヒサコ
                文子:フミコ 千代子:チヨコ 静子:シズコ 照子:テルコ 信子:ノブコ 弘子:ヒロコ 悦子:エツコ 光子:ミツコ
                正子:マサコ 清子:キヨコ 富子:トミコ 春子:ハルコ 芳子:ヨシコ ハル:ハル キヨ:キヨ 美智子:ミチコ 澄子:スミコ
                """),
            table("""
                裕子:ユウコ 真由美:マユミ 由美子:ユミコ 久美子:クミコ 恵美:エミ 智子:トモコ 直美:ナオミ 明美:アケミ
                陽子:ヨウコ 典子:ノリコ 純子:ジュンコ 美穂:ミホ 香織:カオリ 恵:メグミ 麻衣:マイ 愛:アイ 彩:アヤ
                由紀:ユキ 理恵:リエ 美香:ミカ 浩美:ヒロミ 千秋:チアキ 聡子:サトコ 奈美:ナミ 朋子:トモコ
                """),
            table("""
                陽菜:ヒナ 結衣:ユイ 葵:アオイ 凛:リン 結菜:ユイナ 美咲:ミサキ さくら:サクラ 芽依:メイ 莉子:リコ
                紬:ツムギ 陽葵:ヒマリ 杏:アン 美羽:ミウ 彩花:アヤカ 七海:ナナミ 優花:ユウカ 真央:マオ 花音:カノン
                心春:コハル 詩織:シオリ 遥:ハルカ 菜々子:ナナコ 舞:マイ 沙希:サキ 千尋:チヒロ
                """),
        ],
    ]

    /// The naming generation of someone born in `year`.
    @inline(__always)
    static func era(bornIn year: Int) -> Int {
        year < 1951 ? 0 : (year < 1986 ? 1 : 2)
    }
}

/// A generated person's name in the register's forms.
struct PersonName: Sendable {
    let surname: NameEntry
    let given: NameEntry

    /// 氏名: "姓　名" with the full-width space registers use.
    var full: String { surname.kanji + "　" + given.kanji }
    /// 氏名カナ: "セイ　メイ".
    var kana: String { surname.kana + "　" + given.kana }

    static func random(_ rng: inout SeededGenerator, sex: Sex, bornIn year: Int, localShare perMille: Int) -> PersonName {
        let surname = rng.chance(perMille: perMille)
            ? rng.pick(NameTables.shimaneSurnames)
            : NameTables.surnames[rng.skewedIndex(NameTables.surnames.count)]
        let pool = NameTables.givenNames[sex == .male ? 0 : 1][NameTables.era(bornIn: year)]
        return PersonName(surname: surname, given: pool[rng.skewedIndex(pool.count)])
    }
}
