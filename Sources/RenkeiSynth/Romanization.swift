/// Katakana to passport-style Hepburn (ヘボン式), upper case, as a Japanese
/// passport prints a name: long vowels are not marked (サトウ → SATO), ン
/// before B, M, P is M, and ッ doubles the next consonant (ッチ → TCH).
enum Romanization {
    private static let mono: [Character: String] = {
        let rows: [(String, [String])] = [
            ("アイウエオ", ["A", "I", "U", "E", "O"]),
            ("カキクケコ", ["KA", "KI", "KU", "KE", "KO"]),
            ("ガギグゲゴ", ["GA", "GI", "GU", "GE", "GO"]),
            ("サシスセソ", ["SA", "SHI", "SU", "SE", "SO"]),
            ("ザジズゼゾ", ["ZA", "JI", "ZU", "ZE", "ZO"]),
            ("タチツテト", ["TA", "CHI", "TSU", "TE", "TO"]),
            ("ダヂヅデド", ["DA", "JI", "ZU", "DE", "DO"]),
            ("ナニヌネノ", ["NA", "NI", "NU", "NE", "NO"]),
            ("ハヒフヘホ", ["HA", "HI", "FU", "HE", "HO"]),
            ("バビブベボ", ["BA", "BI", "BU", "BE", "BO"]),
            ("パピプペポ", ["PA", "PI", "PU", "PE", "PO"]),
            ("マミムメモ", ["MA", "MI", "MU", "ME", "MO"]),
            ("ヤユヨ", ["YA", "YU", "YO"]),
            ("ラリルレロ", ["RA", "RI", "RU", "RE", "RO"]),
            ("ワヲン", ["WA", "O", "N"]),
        ]
        var table: [Character: String] = [:]
        for (kana, roman) in rows {
            for (k, r) in zip(kana, roman) { table[k] = r }
        }
        return table
    }()

    private static let smallY: [Character: String] = ["ャ": "A", "ュ": "U", "ョ": "O"]

    /// "サトウ　タロウ" → "SATO TARO". Characters it does not know are dropped.
    static func passportName(fromKatakana kana: String) -> String {
        var syllables: [String] = []
        let chars = Array(kana)
        var i = 0
        var doubleNext = false
        while i < chars.count {
            let c = chars[i]
            if c == "　" || c == " " {
                syllables.append(" ")
            } else if c == "ッ" {
                doubleNext = true
            } else if c == "ー" {
                // Passport Hepburn leaves long vowels unmarked.
            } else if var s = mono[c] {
                if i + 1 < chars.count, let y = smallY[chars[i + 1]] {
                    // キャ → KYA, シャ → SHA, チャ → CHA, ジャ → JA.
                    let stem = s.dropLast()
                    s = (stem.hasSuffix("SH") || stem.hasSuffix("CH") || stem == "J") ? stem + y : stem + "Y" + y
                    i += 1
                }
                if doubleNext {
                    s = (s.hasPrefix("CH") ? "T" : String(s.prefix(1))) + s
                    doubleNext = false
                }
                syllables.append(s)
            }
            i += 1
        }
        var out = ""
        for (j, s) in syllables.enumerated() {
            if s == "N", j + 1 < syllables.count, let next = syllables[j + 1].first, "BMP".contains(next) {
                out += "M"
            } else if let last = out.last, let first = s.first, s.count == 1, "OU".contains(first),
                      (last == "O" && (first == "U" || first == "O")) || (last == "U" && first == "U"),
                      !(j + 1 < syllables.count && (syllables[j + 1] == "E" || syllables[j + 1] == "A")) {
                // おう・おお・うう: a long vowel, written once (シュウイチ → SHUICHI);
                // but before エ the ウ is its own syllable and stays (イノウエ → INOUE).
            } else {
                out += s
            }
        }
        return out
    }
}
