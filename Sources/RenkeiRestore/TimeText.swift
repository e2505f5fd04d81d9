import Foundation

/// Points in time as restore takes and shows them.
public enum TimeText {
    /// Parses `--at`: ISO 8601 with a zone (`2026-11-28T04:10:00Z`,
    /// `2026-11-28T13:10:00+09:00`, optionally with fractional seconds) or
    /// Unix milliseconds (all digits). `nil` if it is neither.
    public static func parse(_ text: String) -> UInt64? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if !trimmed.isEmpty, trimmed.allSatisfy({ $0.isASCII && $0.isNumber }) {
            return UInt64(trimmed)
        }
        for options in [ISO8601DateFormatter.Options.withInternetDateTime, [.withInternetDateTime, .withFractionalSeconds]] {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = options
            if let date = formatter.date(from: trimmed), date.timeIntervalSince1970 >= 0 {
                return UInt64((date.timeIntervalSince1970 * 1000).rounded())
            }
        }
        return nil
    }

    /// `2026-11-28T04:10:00.123Z`.
    public static func iso(_ ms: UInt64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }
}
