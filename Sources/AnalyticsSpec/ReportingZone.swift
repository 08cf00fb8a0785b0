import Foundation
import JSONSchemaValidation

/// The time zone of a reporting query: which instants a calendar day, hour, week or month covers.
///
/// Zone rules come from Foundation's `TimeZone` (the IANA database it ships with). Every store is given
/// instants computed here, never a zone name, so the in-memory and Postgres stores cut days at the same
/// instants whatever zone database the database server has.
public struct ReportingZone: Sendable, Hashable {
    /// The name as the client gave it (`Europe/Berlin`), or `UTC`.
    public let name: String
    /// Nil for UTC, whose arithmetic needs no rules.
    private let timeZone: TimeZone?

    public static let utc = ReportingZone(validName: "UTC", timeZone: nil)

    private init(validName: String, timeZone: TimeZone?) {
        name = validName
        self.timeZone = timeZone
    }

    /// The zone for an IANA name (case-sensitive), or `UTC`; nil otherwise. Foundation also reads
    /// abbreviations and `GMT+5`, in which POSIX and PostgreSQL read the sign the other way round: only
    /// names Foundation lists, or `Area/Location` names it resolves, are taken. The second form is needed
    /// because Foundation lists ICU's canonical names, some of them older than the IANA database's own:
    /// `Asia/Calcutta` is listed, the IANA name `Asia/Kolkata` is not.
    public init?(named name: String) {
        if name == "UTC" {
            self = .utc
            return
        }
        guard Self.knownNames.contains(name) || Self.isAreaLocation(name), let timeZone = TimeZone(identifier: name) else { return nil }
        self.init(validName: name, timeZone: timeZone)
    }

    private static let knownNames = Set(TimeZone.knownTimeZoneIdentifiers)

    /// `Area/Location` (or `Area/Region/Location`) as the IANA database spells names: ASCII letters, digits,
    /// `_`, `-` and `+`, each part starting with a letter.
    private static func isAreaLocation(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count) else { return false }
        func isLetter(_ scalar: Unicode.Scalar) -> Bool { ("A"..."Z").contains(scalar) || ("a"..."z").contains(scalar) }
        return parts.allSatisfy { part in
            guard let first = part.unicodeScalars.first, isLetter(first) else { return false }
            return part.unicodeScalars.allSatisfy { isLetter($0) || ("0"..."9").contains($0) || "_-+".unicodeScalars.contains($0) }
        }
    }

    public static func == (lhs: ReportingZone, rhs: ReportingZone) -> Bool { lhs.name == rhs.name }
    public func hash(into hasher: inout Hasher) { hasher.combine(name) }

    // MARK: Instants
    //
    // Only the zone's offsets and transitions come from Foundation; the calendar arithmetic is this
    // module's proleptic Gregorian `CalendarDate`, as in RFC 3339 and PostgreSQL (Foundation's Gregorian
    // calendar turns Julian before 1582).

    /// The zone's offset from UTC at an instant, in seconds.
    public func offsetSeconds(atMicroseconds instant: Int64) -> Int {
        offset(atSecond: Self.floorDivide(instant, 1_000_000))
    }

    private func offset(atSecond second: Int64) -> Int {
        guard let timeZone else { return 0 }
        return timeZone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(second)))
    }

    /// The first instant of `date` in this zone, in microseconds since the Unix epoch: local midnight (the
    /// earlier one when the clocks go back over it), or, when the clocks skip midnight, the instant they
    /// skip it at.
    public func startOfDay(_ date: CalendarDate) -> Int64 {
        let midnight = Int64(date.daysSinceEpoch) * 86_400
        guard let timeZone else { return midnight * 1_000_000 }
        // Every instant whose local time is this midnight lies within 16 hours of it (offsets stay
        // within ±15 hours, local mean time included). Each offset the zone has in that window gives
        // one candidate, valid when the zone has that offset at the candidate.
        let window = (midnight - 16 * 3600)...(midnight + 16 * 3600)
        var transitions: [Int64] = []
        var cursor = Date(timeIntervalSince1970: Double(window.lowerBound))
        while let next = timeZone.nextDaylightSavingTimeTransition(after: cursor), next.timeIntervalSince1970 <= Double(window.upperBound),
            transitions.count < 8
        {
            transitions.append(Int64(next.timeIntervalSince1970.rounded(.down)))
            cursor = next
        }
        let offsets = Set([window.lowerBound] + transitions).map { offset(atSecond: $0) }
        let valid = offsets.map { midnight - Int64($0) }.filter { offset(atSecond: $0) == Int(midnight - $0) }
        if let earliest = valid.min() { return earliest * 1_000_000 }
        // A gap: the clocks jump from before this midnight to after it at a transition.
        let skip = transitions.first { Int64(offset(atSecond: $0)) + $0 > midnight && Int64(offset(atSecond: $0 - 1)) + $0 - 1 < midnight }
        return (skip ?? midnight - Int64(offset(atSecond: midnight))) * 1_000_000
    }

    /// The half-open range of instants from the start of `from` to the start of the day after `to`.
    public func instants(from: CalendarDate, to: CalendarDate) -> Range<Int64> {
        startOfDay(from)..<startOfDay(CalendarDate(daysSinceEpoch: to.daysSinceEpoch + 1))
    }

    /// An instant as local time with this zone's offset then, `2025-11-14T00:00:00+01:00`. An offset with
    /// seconds (local mean time, before 1900 in most zones) is written to the minute, with the local time
    /// moved to match, so the text still names the same instant.
    public func localTimestamp(atMicroseconds instant: Int64) -> String {
        var offset = offsetSeconds(atMicroseconds: instant)
        offset -= offset % 60
        let seconds = Self.floorDivide(instant, 1_000_000) + Int64(offset)
        let day = CalendarDate(daysSinceEpoch: Int(Self.floorDivide(seconds, 86_400)))
        let secondOfDay = Int(seconds - Int64(day.daysSinceEpoch) * 86_400)
        let minutes = abs(offset) / 60
        // Written as bytes: an hourly series writes up to 1,000 of these per answer.
        var text = Array(day.description.utf8)
        func two(_ value: Int) { text.append(UInt8(ascii: "0") + UInt8(value / 10)); text.append(UInt8(ascii: "0") + UInt8(value % 10)) }
        text.append(UInt8(ascii: "T"))
        two(secondOfDay / 3600)
        text.append(UInt8(ascii: ":"))
        two(secondOfDay / 60 % 60)
        text.append(UInt8(ascii: ":"))
        two(secondOfDay % 60)
        text.append(offset < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
        two(minutes / 60)
        text.append(UInt8(ascii: ":"))
        two(minutes % 60)
        return String(decoding: text, as: UTF8.self)
    }

    // MARK: Buckets

    /// How many buckets of `interval` the days `from` to `to` hold, by arithmetic alone, so that a
    /// range of millennia costs no more to refuse than a day.
    public func bucketCount(of interval: TimeseriesQuery.Interval, from: CalendarDate, to: CalendarDate) -> Int {
        switch interval {
        case .hour:
            let range = instants(from: from, to: to)
            return Int((range.upperBound - range.lowerBound + 3_599_999_999) / 3_600_000_000)
        case .day:
            return to.daysSinceEpoch - from.daysSinceEpoch + 1
        case .week:
            // Mondays after `from`, up to `to`, each start a bucket.
            let firstMonday = from.daysSinceEpoch + 7 - (Self.isoWeekday(from) - 1)
            return 1 + (firstMonday > to.daysSinceEpoch ? 0 : (to.daysSinceEpoch - firstMonday) / 7 + 1)
        case .month:
            return (to.year * 12 + to.month) - (from.year * 12 + from.month) + 1
        }
    }

    /// The starts of the buckets of `interval` that cut the days `from` to `to`, the first being the start
    /// of `from`: every 3,600 s for hours, local midnights for days, Monday midnights for weeks,
    /// first-of-the-month midnights for months. Call it only for a range whose `bucketCount` is bounded.
    public func bucketStarts(of interval: TimeseriesQuery.Interval, from: CalendarDate, to: CalendarDate) -> [Int64] {
        let range = instants(from: from, to: to)
        var starts = [range.lowerBound]
        switch interval {
        case .hour:
            var next = range.lowerBound + 3_600_000_000
            while next < range.upperBound {
                starts.append(next)
                next += 3_600_000_000
            }
        case .day:
            var day = from.daysSinceEpoch + 1
            while day <= to.daysSinceEpoch {
                starts.append(startOfDay(CalendarDate(daysSinceEpoch: day)))
                day += 1
            }
        case .week:
            var monday = from.daysSinceEpoch + 7 - (Self.isoWeekday(from) - 1)
            while monday <= to.daysSinceEpoch {
                starts.append(startOfDay(CalendarDate(daysSinceEpoch: monday)))
                monday += 7
            }
        case .month:
            var (year, month) = from.month == 12 ? (from.year + 1, 1) : (from.year, from.month + 1)
            while CalendarDate(year: year, month: month, day: 1) <= to {
                starts.append(startOfDay(CalendarDate(year: year, month: month, day: 1)))
                (year, month) = month == 12 ? (year + 1, 1) : (year, month + 1)
            }
        }
        return starts
    }

    /// 1 for Monday to 7 for Sunday.
    public static func isoWeekday(_ date: CalendarDate) -> Int {
        // 1970-01-01 was a Thursday.
        Int(floorDivide(Int64(date.daysSinceEpoch) + 3, 7) * -7 + Int64(date.daysSinceEpoch) + 3) + 1
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
        value >= 0 ? value / divisor : (value - divisor + 1) / divisor
    }
}
