import AnalyticsSpec
import FuzzSupport
import JSONSchemaValidation

// The input as a string (UTF-8; invalid sequences become U+FFFD), against a reference implementation of
// RFC 3339 written here from the grammar (RFC 3339 section 5.6), independently of the module's code:
//
//   date-time = full-date ("T" / "t") full-time
//   full-date = 4DIGIT "-" 2DIGIT "-" 2DIGIT      month 01-12, day within the month (leap years:
//                                                  divisible by 4, except centuries not divisible by 400)
//   full-time = 2DIGIT ":" 2DIGIT ":" 2DIGIT ["." 1*DIGIT] ("Z" / "z" / ("+" / "-") 2DIGIT ":" 2DIGIT)
//               hour 00-23, minute 00-59, second 00-59, offset hour 00-23 and minute 00-59
//
// and the instant in microseconds since 1970-01-01T00:00:00Z, computed here by counting days from
// 0001-01-01 (not the module's days_from_civil), the fraction truncated to six digits as the module
// documents (RFC3339DateTime.microsecondsSinceEpoch). Two sets of rules are checked:
//
// - The module's `date-time` format (RFC3339.parseDateTime, parseDate, validateTime): the grammar above,
//   year 0000 refused (no year zero in the proleptic Gregorian calendar), and, as the module documents and
//   JSON Schema's format requires, second 60 accepted where it is a leap second: at 23:59:60 UTC. A leap
//   second counts as the second after :59, the same instant as the next 00:00:00.
// - The contract's `timestamp` (spec/event.schema.json: format plus pattern plus maxLength 64): no second
//   60 at all; no offset ahead of UTC on 0001-01-01 nor behind it on 9999-12-31 (Z, +00:00 and -00:00
//   always pass); at most 64 code points. Checked through the schema validator (Contract.embedded.event,
//   whose timestamp pattern runs on ECMARegex) and through FastEventReader (whose answer must be the
//   reference's instant whenever it gives one; a nil from it is "not sure").
//
// Both sides accept with the same microseconds (and the same offset), or both refuse. For every accepted
// instant that lies in the years 0001-9999 in UTC, RFC3339Formatter.utc(microseconds:) must be the text
// the reference formats, and that text must parse back to the same microseconds; the instant's UTC day
// (RFC3339DateTime.utcDate, Event.utcDate) must be the reference's.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeBufferPointer(start: data, count: size)
    let text = String(decoding: input, as: UTF8.self)
    let bytes = Array(text.utf8)

    // date-time, the module's rules.
    let expected = Reference.dateTime(bytes, leapSeconds: true)
    let actual = RFC3339.parseDateTime(text)
    switch (actual, expected) {
    case (.failure, nil): break
    case (.success(let parsed), let reference?)
    where parsed.microsecondsSinceEpoch == reference.microseconds && parsed.offsetMinutes == reference.offsetMinutes:
        checkFormatting(reference, parsed: parsed, input: input)
    default:
        disagreement("RFC3339.parseDateTime and the reference differ", input: input, [
            "RFC3339.parseDateTime: \(describe(actual))", "reference: \(describe(expected))",
        ])
    }

    // full-date.
    let expectedDate = Reference.date(bytes)
    let actualDate = RFC3339.parseDate(text)
    switch (actualDate, expectedDate) {
    case (.failure, nil): break
    case (.success(let date), let reference?) where (date.year, date.month, date.day) == reference: break
    default:
        disagreement("RFC3339.parseDate and the reference differ", input: input, [
            "RFC3339.parseDate: \(actualDate)", "reference: \(String(describing: expectedDate))",
        ])
    }

    // full-time.
    let expectedTime = Reference.time(bytes)
    let actualTime = RFC3339.validateTime(text)
    guard (actualTime == nil) == (expectedTime != nil) else {
        disagreement("RFC3339.validateTime and the reference differ", input: input, [
            "RFC3339.validateTime: \(actualTime.map { "refuses: \($0.reason)" } ?? "accepts")",
            "reference: \(expectedTime.map { "accepts \($0)" } ?? "refuses")",
        ])
    }

    checkContract(text, bytes: bytes, input: input)
    return 0
}

func describe(_ result: Result<RFC3339DateTime, RFC3339.Failure>) -> String {
    switch result {
    case .success(let parsed): "accepts: \(parsed.microsecondsSinceEpoch) µs, offset \(parsed.offsetMinutes) min"
    case .failure(let failure): "refuses: \(failure.reason)"
    }
}

func describe(_ instant: Reference.Instant?) -> String {
    guard let instant else { return "refuses" }
    return "accepts: \(instant.microseconds) µs, offset \(instant.offsetMinutes) min"
}

/// The formatter against the reference's text, and the round trip through both parsers.
func checkFormatting(_ reference: Reference.Instant, parsed: RFC3339DateTime, input: UnsafeBufferPointer<UInt8>) {
    guard let utc = Reference.utcText(microseconds: reference.microseconds) else {
        // Outside the years 0001-9999 in UTC (0001-01-01 ahead of UTC, or 9999-12-31 behind it): the
        // formatter has no four-digit year to write; it must only not crash.
        _ = RFC3339Formatter.utc(microseconds: parsed.microsecondsSinceEpoch)
        _ = parsed.utcDate
        return
    }
    let formatted = RFC3339Formatter.utc(microseconds: parsed.microsecondsSinceEpoch)
    var written: [UInt8] = []
    RFC3339Formatter.writeUTC(microseconds: parsed.microsecondsSinceEpoch, to: &written)
    guard formatted.utf8.elementsEqual(utc.text.utf8), written.elementsEqual(utc.text.utf8) else {
        disagreement("RFC3339Formatter and the reference format an instant differently", input: input, [
            "microseconds: \(parsed.microsecondsSinceEpoch)",
            "RFC3339Formatter.utc: \(swiftStringLiteral(formatted))",
            "RFC3339Formatter.writeUTC: \(swiftStringLiteral(String(decoding: written, as: UTF8.self)))",
            "reference: \(swiftStringLiteral(utc.text))",
        ])
    }
    guard case .success(let back) = RFC3339.parseDateTime(formatted), back.microsecondsSinceEpoch == parsed.microsecondsSinceEpoch,
        Reference.dateTime(Array(formatted.utf8), leapSeconds: true)?.microseconds == parsed.microsecondsSinceEpoch
    else {
        disagreement("the formatted instant does not parse back to the same microseconds", input: input, [
            "microseconds: \(parsed.microsecondsSinceEpoch)", "formatted: \(swiftStringLiteral(formatted))",
            "parsed back: \(describe(RFC3339.parseDateTime(formatted)))",
        ])
    }
    let day = parsed.utcDate
    let eventDay = Event(id: EventID(high: 0, low: 0), siteID: "s", eventType: "v", path: "/", userID: nil,
                         timestamp: parsed.microsecondsSinceEpoch).utcDate
    guard (day.year, day.month, day.day) == utc.date, (eventDay.year, eventDay.month, eventDay.day) == utc.date else {
        disagreement("the UTC day of an instant differs from the reference's", input: input, [
            "RFC3339DateTime.utcDate: \(day)", "Event.utcDate: \(eventDay)", "reference: \(utc.date)",
        ])
    }
}

/// The contract's timestamp: the schema validator and the fast path against the reference's stricter rules.
func checkContract(_ text: String, bytes: [UInt8], input: UnsafeBufferPointer<UInt8>) {
    let expected = Reference.contractTimestamp(bytes, codePoints: text.unicodeScalars.count)
    let event = JSONValue.object(JSONObject(uniqueMembers: [
        ("site_id", "s"), ("event_type", "v"), ("path", "/"), ("timestamp", .string(text)),
    ]))
    let violations = Contract.embedded.event.validate(event)
    guard violations.isEmpty == (expected != nil) else {
        disagreement("the event schema's verdict on a timestamp differs from the reference's", input: input, [
            "schema: \(violations.isEmpty ? "valid" : violations.map(\.description).joined(separator: "; "))",
            "reference: \(describe(expected))",
        ])
    }
    // The fast path reads the timestamp from the request bytes; only text that needs no escaping in JSON
    // can be put there as it is.
    guard !bytes.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }) else { return }
    let body = Array(#"{"site_id":"s","event_type":"v","path":"/","timestamp":""#.utf8) + bytes + Array(#""}"#.utf8)
    let fast = body.withUnsafeBufferPointer { FastEventReader.event($0, newID: { EventID(high: 0, low: 0) }) }
    if let fast, fast.timestamp != expected?.microseconds {
        disagreement("FastEventReader accepts a timestamp the reference refuses or reads differently", input: input, [
            "FastEventReader: \(fast.timestamp) µs", "reference: \(describe(expected))",
        ])
    }
}

enum Reference {
    struct Instant: CustomStringConvertible {
        var microseconds: Int64
        var offsetMinutes: Int
        var description: String { "\(microseconds) µs, offset \(offsetMinutes) min" }
    }

    struct Time: CustomStringConvertible {
        var hour: Int, minute: Int, second: Int, microseconds: Int
        /// Signed minutes east of UTC, and the sign as written ("-00:00" is 0 written with '-').
        var offsetMinutes: Int, offsetSign: UInt8?
        var description: String { "\(hour):\(minute):\(second) +\(microseconds) µs, offset \(offsetMinutes) min" }
    }

    /// `count` ASCII digits at `at` as a number, or nil.
    static func number(_ b: [UInt8], _ at: Int, _ count: Int) -> Int? {
        guard at >= 0, at + count <= b.count else { return nil }
        var value = 0
        for byte in b[at..<(at + count)] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }

    static func byte(_ b: [UInt8], _ at: Int, _ allowed: String) -> Bool {
        at < b.count && allowed.utf8.contains(b[at])
    }

    static func isLeap(_ year: Int) -> Bool { year % 400 == 0 || (year % 4 == 0 && year % 100 != 0) }

    static func monthLength(_ year: Int, _ month: Int) -> Int {
        [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]
    }

    /// full-date at the start of `b`: (year, month, day).
    static func fullDate(_ b: [UInt8]) -> (Int, Int, Int)? {
        guard let year = number(b, 0, 4), byte(b, 4, "-"), let month = number(b, 5, 2), byte(b, 7, "-"),
            let day = number(b, 8, 2)
        else { return nil }
        guard year >= 1, month >= 1, month <= 12, day >= 1, day <= monthLength(year, month) else { return nil }
        return (year, month, day)
    }

    /// full-time from `start` to the end of `b`. `leapSeconds`: second 60 is accepted where it falls at
    /// 23:59:60 UTC; otherwise second 60 is refused.
    static func fullTime(_ b: [UInt8], from start: Int, leapSeconds: Bool) -> Time? {
        guard let hour = number(b, start, 2), byte(b, start + 2, ":"), let minute = number(b, start + 3, 2),
            byte(b, start + 5, ":"), let second = number(b, start + 6, 2)
        else { return nil }
        guard hour <= 23, minute <= 59, second <= 60 else { return nil }
        var at = start + 8
        var microseconds = 0
        if byte(b, at, ".") {
            at += 1
            var digits: [Int] = []
            while at < b.count, b[at] >= UInt8(ascii: "0"), b[at] <= UInt8(ascii: "9") {
                digits.append(Int(b[at] - UInt8(ascii: "0")))
                at += 1
            }
            guard !digits.isEmpty else { return nil }
            for place in 0..<6 { microseconds = microseconds * 10 + (place < digits.count ? digits[place] : 0) }
        }
        var offsetMinutes = 0
        var sign: UInt8?
        if byte(b, at, "Zz") {
            at += 1
        } else if byte(b, at, "+-") {
            sign = b[at]
            guard let offsetHour = number(b, at + 1, 2), byte(b, at + 3, ":"), let offsetMinute = number(b, at + 4, 2),
                offsetHour <= 23, offsetMinute <= 59
            else { return nil }
            offsetMinutes = (offsetHour * 60 + offsetMinute) * (sign == UInt8(ascii: "-") ? -1 : 1)
            at += 6
        } else {
            return nil
        }
        guard at == b.count else { return nil }
        if second == 60 {
            guard leapSeconds else { return nil }
            // The UTC minute of the day, whatever the date: 23:59 is the only one with a leap second.
            var utcMinute = hour * 60 + minute - offsetMinutes
            while utcMinute < 0 { utcMinute += 1440 }
            guard utcMinute % 1440 == 23 * 60 + 59 else { return nil }
        }
        return Time(hour: hour, minute: minute, second: second, microseconds: microseconds,
                    offsetMinutes: offsetMinutes, offsetSign: sign)
    }

    /// Days from 1970-01-01 to the date, counting whole years from 0001-01-01.
    static func daysSinceEpoch(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let before = Int64(year - 1)
        var days = before * 365 + before / 4 - before / 100 + before / 400
        let monthStarts = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]
        days += Int64(monthStarts[month - 1] + (month > 2 && isLeap(year) ? 1 : 0) + day - 1)
        return days - 719_162  // 1970-01-01 is day 719,162 counted from 0001-01-01.
    }

    static func dateTime(_ b: [UInt8], leapSeconds: Bool) -> Instant? {
        guard let (year, month, day) = fullDate(b), byte(b, 10, "Tt"),
            let time = fullTime(b, from: 11, leapSeconds: leapSeconds)
        else { return nil }
        let seconds = daysSinceEpoch(year, month, day) * 86_400 + Int64(time.hour * 3600 + time.minute * 60 + time.second)
            - Int64(time.offsetMinutes * 60)
        return Instant(microseconds: seconds * 1_000_000 + Int64(time.microseconds), offsetMinutes: time.offsetMinutes)
    }

    /// RFC3339.parseDate: exactly a full-date.
    static func date(_ b: [UInt8]) -> (Int, Int, Int)? {
        b.count == 10 ? fullDate(b) : nil
    }

    /// RFC3339.validateTime: exactly a full-time, with the module's leap-second rule.
    static func time(_ b: [UInt8]) -> Time? {
        fullTime(b, from: 0, leapSeconds: true)
    }

    /// spec/event.schema.json's timestamp.
    static func contractTimestamp(_ b: [UInt8], codePoints: Int) -> Instant? {
        guard codePoints <= 64, let instant = dateTime(b, leapSeconds: false),
            let time = fullTime(b, from: 11, leapSeconds: false)
        else { return nil }
        let date = b[0..<10]
        if time.offsetMinutes != 0 {
            if time.offsetSign == UInt8(ascii: "+"), date.elementsEqual("0001-01-01".utf8) { return nil }
            if time.offsetSign == UInt8(ascii: "-"), date.elementsEqual("9999-12-31".utf8) { return nil }
        }
        return instant
    }

    /// `YYYY-MM-DDTHH:MM:SS.ffffffZ` and the UTC date, for instants in the years 0001-9999; nil outside.
    static func utcText(microseconds: Int64) -> (text: String, date: (Int, Int, Int))? {
        var days = microseconds / 86_400_000_000
        var rest = microseconds % 86_400_000_000
        if rest < 0 {
            days -= 1
            rest += 86_400_000_000
        }
        // Walk from 0001-01-01: 400-year cycles of 146,097 days, then single years, then months.
        var left = days + 719_162
        guard left >= 0 else { return nil }
        var year = 1 + Int(left / 146_097) * 400
        left %= 146_097
        while left >= (isLeap(year) ? 366 : 365) {
            left -= isLeap(year) ? 366 : 365
            year += 1
        }
        guard year <= 9999 else { return nil }
        var month = 1
        while left >= Int64(monthLength(year, month)) {
            left -= Int64(monthLength(year, month))
            month += 1
        }
        let day = Int(left) + 1
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: width - digits.count) + digits
        }
        let second = rest / 1_000_000
        let text = "\(pad(Int64(year), 4))-\(pad(Int64(month), 2))-\(pad(Int64(day), 2))T"
            + "\(pad(second / 3600, 2)):\(pad(second / 60 % 60, 2)):\(pad(second % 60, 2)).\(pad(rest % 1_000_000, 6))Z"
        return (text, (year, month, day))
    }
}
