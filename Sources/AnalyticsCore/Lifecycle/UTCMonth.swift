import JSONSchemaValidation

/// A calendar month in UTC: the unit `events` is partitioned by, and that retention drops whole.
public struct UTCMonth: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    /// 1 to 12.
    public let month: Int

    public init?(year: Int, month: Int) {
        guard (1...9999).contains(year), (1...12).contains(month) else { return nil }
        self.year = year
        self.month = month
    }

    /// The month holding `microseconds` since the Unix epoch.
    public init(containing microseconds: Int64) {
        let date = CalendarDate(daysSinceEpoch: Int(floorDivide(microseconds, 86_400_000_000)))
        year = date.year
        month = date.month
    }

    /// Months since January of year 0, for arithmetic and ordering.
    var ordinal: Int { year * 12 + (month - 1) }

    init(ordinal: Int) {
        let (quotient, remainder) = ordinal.quotientAndRemainder(dividingBy: 12)
        year = remainder < 0 ? quotient - 1 : quotient
        month = (remainder < 0 ? remainder + 12 : remainder) + 1
    }

    /// A month written `YYYY-MM`.
    public init?(yearMonth text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 4, parts[1].count == 2, let year = Int(parts[0]), let month = Int(parts[1]) else { return nil }
        self.init(year: year, month: month)
    }

    /// `count` months later (earlier when negative).
    public func adding(months count: Int) -> UTCMonth { UTCMonth(ordinal: ordinal + count) }

    /// Its first instant, in microseconds since the Unix epoch.
    public var start: Int64 { Int64(CalendarDate(year: year, month: month, day: 1).daysSinceEpoch) * 86_400_000_000 }

    /// `YYYY-MM`.
    public var description: String {
        let digits = String(year)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits + (month < 10 ? "-0" : "-") + String(month)
    }

    public static func < (lhs: UTCMonth, rhs: UTCMonth) -> Bool { lhs.ordinal < rhs.ordinal }
}

private func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    let quotient = value / divisor
    return (value % divisor != 0 && (value < 0) != (divisor < 0)) ? quotient - 1 : quotient
}
