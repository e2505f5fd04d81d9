import Foundation

extension LocalDate {
    /// Today's date in Japan: municipal registers keep Japanese calendar
    /// days, whatever the machine's time zone.
    public static func todayInJapan(now: Date = Date()) -> LocalDate {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Asia/Tokyo")!
        let c = calendar.dateComponents([.year, .month, .day], from: now)
        // A calendar's own date is always valid.
        return try! LocalDate(year: c.year!, month: c.month!, day: c.day!)
    }
}
