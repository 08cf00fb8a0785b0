/// A calendar date in the proleptic Gregorian calendar.
public struct CalendarDate: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let month: Int
    public let day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    /// Days since 1970-01-01.
    public var daysSinceEpoch: Int {
        // Howard Hinnant's days_from_civil.
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    public init(daysSinceEpoch days: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        self.init(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month, day: day)
    }

    /// `YYYY-MM-DD`.
    public var description: String {
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))"
    }

    public static func < (lhs: CalendarDate, rhs: CalendarDate) -> Bool {
        (lhs.year, lhs.month, lhs.day) < (rhs.year, rhs.month, rhs.day)
    }
}

/// An RFC 3339 `date-time`, resolved to an instant.
public struct RFC3339DateTime: Sendable, Hashable {
    /// Microseconds since 1970-01-01T00:00:00Z; digits past the sixth fractional one are truncated.
    public let microsecondsSinceEpoch: Int64
    /// The offset from UTC the text was written in, in minutes.
    public let offsetMinutes: Int

    /// The UTC calendar day of the instant.
    public var utcDate: CalendarDate {
        let seconds = microsecondsSinceEpoch >= 0
            ? microsecondsSinceEpoch / 1_000_000 : (microsecondsSinceEpoch - 999_999) / 1_000_000
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        return CalendarDate(daysSinceEpoch: Int(days))
    }
}

/// Parsers for the RFC 3339 formats JSON Schema names `date`, `time` and `date-time`.
///
/// Year 0000 is rejected: the proleptic Gregorian calendar that PostgreSQL and most libraries
/// use has no year zero. A leap second (`:60`) is valid only where it falls at 23:59:60 UTC.
public enum RFC3339 {
    public enum Failure: Error, Sendable, Equatable {
        case invalid(String)
        public var reason: String {
            switch self { case .invalid(let reason): reason }
        }
    }

    public static func parseDate(_ text: String) -> Result<CalendarDate, Failure> {
        let bytes = Array(text.utf8)
        guard bytes.count == 10 else { return .failure(.invalid("must be a date as YYYY-MM-DD")) }
        var reader = DigitReader(bytes: bytes)
        return reader.date(shape: "must be a date as YYYY-MM-DD").flatMap { date in
            reader.atEnd ? .success(date) : .failure(.invalid("must be a date as YYYY-MM-DD"))
        }
    }

    public static func parseDateTime(_ text: String) -> Result<RFC3339DateTime, Failure> {
        let bytes = Array(text.utf8)
        var reader = DigitReader(bytes: bytes)
        let date: CalendarDate
        switch reader.date() {
        case .success(let parsed): date = parsed
        case .failure(let failure): return .failure(failure)
        }
        guard reader.take(where: { $0 == UInt8(ascii: "T") || $0 == UInt8(ascii: "t") }) else {
            return .failure(.invalid("must separate date and time with 'T'"))
        }
        return reader.time().flatMap { time in
            guard reader.atEnd else { return .failure(.invalid("has unexpected characters after the offset")) }
            let localSeconds = Int64(date.daysSinceEpoch) * 86_400 + Int64(time.hour * 3600 + time.minute * 60)
            let utcSeconds = localSeconds - Int64(time.offsetMinutes * 60) + Int64(time.second)
            return .success(RFC3339DateTime(
                microsecondsSinceEpoch: utcSeconds * 1_000_000 + Int64(time.microseconds),
                offsetMinutes: time.offsetMinutes
            ))
        }
    }

    /// RFC 3339 `full-time`, such as `10:00:00Z` or `23:59:59.5+05:30`.
    public static func validateTime(_ text: String) -> Failure? {
        var reader = DigitReader(bytes: Array(text.utf8))
        switch reader.time() {
        case .failure(let failure): return failure
        case .success: return reader.atEnd ? nil : .invalid("has unexpected characters after the offset")
        }
    }

    static func isLeapYear(_ year: Int) -> Bool { (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static let monthNames = [
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ]
}

private struct TimeOfDay {
    var hour: Int
    var minute: Int
    var second: Int
    var microseconds: Int
    var offsetMinutes: Int
}

private struct DigitReader {
    let bytes: [UInt8]
    var index = 0

    var atEnd: Bool { index == bytes.count }

    mutating func digits(_ count: Int) -> Int? {
        guard index + count <= bytes.count else { return nil }
        var value = 0
        for offset in 0..<count {
            let byte = bytes[index + offset]
            guard byte >= 0x30, byte <= 0x39 else { return nil }
            value = value * 10 + Int(byte - 0x30)
        }
        index += count
        return value
    }

    mutating func take(_ byte: Character) -> Bool {
        take(where: { $0 == byte.asciiValue! })
    }

    mutating func take(where predicate: (UInt8) -> Bool) -> Bool {
        guard index < bytes.count, predicate(bytes[index]) else { return false }
        index += 1
        return true
    }

    mutating func date(shape message: String = "must start with a date as YYYY-MM-DD") -> Result<CalendarDate, RFC3339.Failure> {
        let shape = RFC3339.Failure.invalid(message)
        guard let year = digits(4), take("-"), let month = digits(2), take("-"), let day = digits(2) else {
            return .failure(shape)
        }
        guard year > 0 else { return .failure(.invalid("year 0000 does not exist")) }
        guard (1...12).contains(month) else { return .failure(.invalid("month \(month) is out of range 01-12")) }
        let limit = RFC3339.daysIn(month: month, year: year)
        guard (1...limit).contains(day) else {
            return .failure(.invalid(
                "day \(day) is out of range for \(RFC3339.monthNames[month - 1]) \(year) (01-\(limit))"))
        }
        return .success(CalendarDate(year: year, month: month, day: day))
    }

    mutating func time() -> Result<TimeOfDay, RFC3339.Failure> {
        guard let hour = digits(2), take(":"), let minute = digits(2), take(":"), let second = digits(2) else {
            return .failure(.invalid("must have a time as HH:MM:SS"))
        }
        guard hour <= 23 else { return .failure(.invalid("hour \(hour) is out of range 00-23")) }
        guard minute <= 59 else { return .failure(.invalid("minute \(minute) is out of range 00-59")) }
        guard second <= 60 else { return .failure(.invalid("second \(second) is out of range 00-59")) }
        var microseconds = 0
        if take(".") {
            var count = 0
            while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39 {
                if count < 6 { microseconds = microseconds * 10 + Int(bytes[index] - 0x30) }
                count += 1
                index += 1
            }
            guard count > 0 else { return .failure(.invalid("must have digits after the decimal point")) }
            for _ in count..<max(count, 6) { microseconds *= 10 }
        }
        var offsetMinutes = 0
        if take(where: { $0 == UInt8(ascii: "Z") || $0 == UInt8(ascii: "z") }) {
            offsetMinutes = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let offsetHour = digits(2), take(":"), let offsetMinute = digits(2) else {
                return .failure(.invalid("must end with an offset as Z or ±HH:MM"))
            }
            guard offsetHour <= 23, offsetMinute <= 59 else {
                return .failure(.invalid("offset is out of range (±23:59 at most)"))
            }
            offsetMinutes = sign * (offsetHour * 60 + offsetMinute)
        } else {
            return .failure(.invalid("must end with an offset as Z or ±HH:MM"))
        }
        if second == 60 {
            let utcMinuteOfDay = ((hour * 60 + minute - offsetMinutes) % 1440 + 1440) % 1440
            guard utcMinuteOfDay == 23 * 60 + 59 else {
                return .failure(.invalid("second 60 is only valid as a leap second at 23:59:60 UTC"))
            }
        }
        return .success(TimeOfDay(
            hour: hour, minute: minute, second: second, microseconds: microseconds, offsetMinutes: offsetMinutes))
    }
}
