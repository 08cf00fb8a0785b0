import Testing

@testable import JSONSchemaValidation

@Suite struct RFC3339Tests {
    @Test(arguments: [
        ("2025-11-14T10:00:00Z", true),
        ("2025-11-14t10:00:00z", true),
        ("2025-11-14T10:00:00.123456789+05:30", true),
        ("2025-11-14T10:00:00-00:00", true),
        ("2024-02-29T00:00:00Z", true),
        ("2000-02-29T00:00:00Z", true),
        ("1900-02-29T00:00:00Z", false),
        ("2025-02-29T00:00:00Z", false),
        ("2024-02-30T00:00:00Z", false),
        ("2025-04-31T00:00:00Z", false),
        ("2025-12-31T00:00:00Z", true),
        ("2025-13-01T00:00:00Z", false),
        ("2025-11-14T24:00:00Z", false),
        ("2025-11-14T23:60:00Z", false),
        ("2025-11-14T10:00:00", false),
        ("2025-11-14 10:00:00Z", false),
        ("2025-11-14T10:00:00+0530", false),
        ("2025-11-14T10:00:00+24:00", false),
        ("2025-11-14T10:00:00.Z", false),
        ("0000-01-01T00:00:00Z", false),
        ("2025-11-14T10:00:00Z ", false),
        // Leap seconds: only at 23:59:60 UTC.
        ("2016-12-31T23:59:60Z", true),
        ("2016-12-31T15:59:60-08:00", true),
        ("2016-12-31T23:58:60Z", false),
    ])
    func dateTime(text: String, valid: Bool) {
        let result = RFC3339.parseDateTime(text)
        if case .success = result { #expect(valid, "\(text) accepted") } else { #expect(!valid, "\(text) rejected") }
    }

    @Test func resolvesTheInstantAndItsUTCDay() throws {
        let parsed = try RFC3339.parseDateTime("2025-11-15T04:30:00.250+05:30").get()
        let utc = try RFC3339.parseDateTime("2025-11-14T23:00:00.25Z").get()
        #expect(parsed.microsecondsSinceEpoch == utc.microsecondsSinceEpoch)
        #expect(parsed.utcDate == CalendarDate(year: 2025, month: 11, day: 14))
        #expect(try RFC3339.parseDateTime("1970-01-01T00:00:00Z").get().microsecondsSinceEpoch == 0)
        #expect(try RFC3339.parseDateTime("1969-12-31T23:59:59.999999Z").get().utcDate.description == "1969-12-31")
    }

    @Test func describesWhatIsWrong() {
        guard case .failure(let failure) = RFC3339.parseDateTime("2025-02-29T00:00:00Z") else {
            Issue.record("accepted 29 February 2025")
            return
        }
        #expect(failure.reason == "day 29 is out of range for February 2025 (01-28)")
    }

    @Test(arguments: ["2025-01-01", "2024-02-29"]) func validDates(text: String) throws {
        _ = try RFC3339.parseDate(text).get()
    }

    @Test(arguments: ["2025-02-29", "2025-1-01", "20250101", "2025-01-01T00:00:00Z", "2025-01-32", ""])
    func invalidDates(text: String) {
        if case .success = RFC3339.parseDate(text) { Issue.record("\(text) accepted") }
    }

    @Test func calendarDaysRoundTrip() {
        for days in stride(from: -800_000, through: 800_000, by: 997) {
            #expect(CalendarDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
        #expect(CalendarDate(year: 2025, month: 11, day: 14).daysSinceEpoch == 20406)
    }

    @Test(arguments: [
        ("3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d", true),
        ("3F1B2C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D", true),
        ("3f1b2c4d5e6f4a7b8c9d0e1f2a3b4c5d", false),
        ("3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5", false),
        ("3f1b2c4d-5e6f-4a7b-8c9d_0e1f2a3b4c5d", false),
        ("g f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5", false),
    ])
    func uuid(text: String, valid: Bool) {
        #expect((FormatAssertion.failure(format: "uuid", value: text) == nil) == valid)
    }

    @Test func unknownFormatsAreAnnotationsOnly() {
        #expect(FormatAssertion.failure(format: "email", value: "not an email") == nil)
    }
}
