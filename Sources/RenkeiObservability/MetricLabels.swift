/// Labels that may be attached to metrics: a closed allow-list of shapes.
///
/// Every distinct label value is a separate time series in Prometheus, kept
/// for the retention period; an unbounded value (a resident's number, a
/// name, a request id) would both blow up the scraper's memory and copy
/// personal data into a system outside the node's encryption. So a value is
/// kept only when it has one of the shapes below, and anything else becomes
/// `"other"`:
///
/// - a municipality code: six ASCII digits whose check digit is right
///   (weights 6,5,4,3,2 mod 11, as `MunicipalityCode`); about 1,900 are
///   in use, and a node only labels the codes it hosts or talks to;
/// - an outcome word: `a-z` and `-`, 1–24 characters (`match`, `no-match`,
///   `refused` …), a closed set chosen by code;
/// - a node name: `a-z`, `0-9` and `-`, 1–32 characters, starting with a
///   letter, with no run of more than six digits (so a node may be named
///   after a municipality code, but a 12-digit Individual Number, a phone
///   number or a date-time can never pass, even behind a prefix).
///
/// Upper case, spaces and non-ASCII (a resident's name in kana or kanji,
/// "Yamada Taro") never pass. The check is on shape only: callers still pass
/// node names and outcomes from the configuration and the code, never from
/// request data.
public enum MetricLabels {
    /// The label value used for everything that is not allowed.
    public static let other = "other"

    /// Returns `value` if it is a municipality code, an outcome word or a
    /// node name (see the type's documentation); otherwise `"other"`.
    public static func bounded(_ value: String) -> String {
        let bytes = Array(value.utf8)
        if isMunicipalityCode(bytes) || isNodeName(bytes) { return value }
        return other
    }

    /// Six ASCII digits with a valid check digit.
    static func isMunicipalityCode(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == 6, bytes.allSatisfy(isDigit) else { return false }
        let digits = bytes.map { Int($0 - UInt8(ascii: "0")) }
        let weights = [6, 5, 4, 3, 2]
        var sum = 0
        for i in 0..<5 { sum += digits[i] * weights[i] }
        return digits[5] == (11 - sum % 11) % 10
    }

    /// `[a-z][a-z0-9-]{0,31}` with no run of more than six digits. Outcome
    /// words (`[a-z-]{1,24}`) are a subset, except that an outcome may start
    /// with `-`, which no outcome does; both shapes are checked here.
    static func isNodeName(_ bytes: [UInt8]) -> Bool {
        guard let first = bytes.first, !bytes.isEmpty else { return false }
        let isOutcome = bytes.count <= 24 && bytes.allSatisfy { isLower($0) || $0 == UInt8(ascii: "-") }
        if isOutcome { return true }
        guard bytes.count <= 32, isLower(first) else { return false }
        var digitRun = 0
        for byte in bytes {
            if isDigit(byte) {
                digitRun += 1
                if digitRun > 6 { return false }
            } else if isLower(byte) || byte == UInt8(ascii: "-") {
                digitRun = 0
            } else {
                return false
            }
        }
        return true
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    private static func isLower(_ b: UInt8) -> Bool { b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z") }
}
