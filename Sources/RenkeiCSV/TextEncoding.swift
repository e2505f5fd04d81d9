/// The character encodings RenkeiCSV reads and writes.
///
/// Municipal systems in Japan still export CP932 (Windows-31J, Microsoft's
/// extension of Shift_JIS); everything else is expected to be UTF-8.
public enum TextEncoding: String, Sendable, CaseIterable {
    /// UTF-8, optionally preceded by a byte order mark.
    case utf8 = "utf-8"
    /// CP932 / Windows-31J, including the NEC and IBM extensions (①, 髙, …)
    /// that plain Shift_JIS lacks.
    case cp932 = "cp932"

    /// Accepts "utf-8", "utf8", "cp932", "shift_jis", "shift-jis", "sjis",
    /// "windows-31j" (case-insensitive); nil otherwise.
    ///
    /// The Shift_JIS spellings map to CP932 on purpose: files labelled
    /// Shift_JIS by Windows software are in practice CP932, and CP932 is a
    /// superset for every character a municipal export contains.
    public init?(name: String) {
        switch name.lowercased() {
        case "utf-8", "utf8":
            self = .utf8
        case "cp932", "shift_jis", "shift-jis", "sjis", "windows-31j":
            self = .cp932
        default:
            return nil
        }
    }
}
