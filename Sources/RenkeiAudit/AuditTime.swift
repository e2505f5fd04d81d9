#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// Entry timestamps: ISO 8601 in UTC with milliseconds, from the system's
/// real-time clock, formatted without Foundation's formatters (a fixed,
/// locale-free layout that reads the same in every tool).
enum AuditTime {
    static func now() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let millis = Int(ts.tv_nsec / 1_000_000)
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(millis, 3) + "Z"
    }

    private static func pad(_ v: Int, _ width: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }

    /// `YYYY-MM-DDTHH:MM:SS.mmmZ`, digits where digits belong.
    static func isWellFormed(_ s: String) -> Bool {
        let b = Array(s.utf8)
        guard b.count == 24 else { return false }
        let layout = Array("dddd-dd-ddTdd:dd:dd.dddZ".utf8)
        for (c, l) in zip(b, layout) {
            if l == UInt8(ascii: "d") {
                guard c >= 0x30 && c <= 0x39 else { return false }
            } else if c != l {
                return false
            }
        }
        return true
    }
}

extension AuditTime {
    /// The instant a well-formed entry time names; nil if `s` is not one.
    static func date(_ s: String) -> Date? {
        guard isWellFormed(s) else { return nil }
        let b = Array(s.utf8)
        func number(_ from: Int, _ count: Int) -> Int {
            b[from..<(from + count)].reduce(0) { $0 * 10 + Int($1 - 0x30) }
        }
        var parts = tm()
        parts.tm_year = Int32(number(0, 4) - 1900)
        parts.tm_mon = Int32(number(5, 2) - 1)
        parts.tm_mday = Int32(number(8, 2))
        parts.tm_hour = Int32(number(11, 2))
        parts.tm_min = Int32(number(14, 2))
        parts.tm_sec = Int32(number(17, 2))
        let seconds = timegm(&parts)
        return Date(timeIntervalSince1970: Double(seconds) + Double(number(20, 3)) / 1000)
    }
}
