import AnalyticsCore
import AnalyticsInMemory
import AnalyticsReadModel
import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing

/// The read model's aggregates answer exactly what a scan of the same events answers, for random events
/// over two years' turns, several zones' clock changes and both forms of "é", arriving in batches that
/// repeat events.
@Suite struct ReadModelConsistencyTests {
    @Test func aggregatesEqualAScanForRandomQueries() async throws {
        var random = SeededGenerator(seed: 20_261_130)
        let sites = ["alpha", "beta"]
        let types = ["view", "click", "signup:completed"]
        let paths = (0..<40).map { "/page/\($0)" } + ["/", "/B", "/a", "/caf\u{E9}", "/cafe\u{301}"]
        let users: [String?] = (0..<300).map { "user-\($0)" } + ["caf\u{E9}", "cafe\u{301}", nil, nil, nil]
        // 2024-12-01 to 2026-01-31: a year's turn at each end, every 2025 clock change in between.
        let firstDay = CalendarDate(year: 2024, month: 12, day: 1).daysSinceEpoch
        let lastDay = CalendarDate(year: 2026, month: 1, day: 31).daysSinceEpoch
        var events: [Event] = []
        for _ in 0..<6_000 {
            let microseconds = Int64(Int.random(in: firstDay...lastDay, using: &random)) * 86_400_000_000
                + Int64.random(in: 0..<86_400_000_000, using: &random)
            events.append(Event(
                id: EventID(high: random.next(), low: random.next()), siteID: sites.randomElement(using: &random)!,
                eventType: types.randomElement(using: &random)!, path: paths.randomElement(using: &random)!,
                userID: users.randomElement(using: &random)!, timestamp: microseconds))
        }
        let store = ReadModelStore()
        let reference = InMemoryStore()
        // In batches, some events twice, with queries between them: zones prepared early must take the
        // events that come after.
        let comparison = ReportingComparison(sites: sites, types: types, days: (firstDay - 3)..<(lastDay + 3))
        for batch in stride(from: 0, to: events.count, by: 3_000).map({ Array(events[$0..<min($0 + 3_000, events.count)]) }) {
            let repeated = batch + batch.prefix(100)
            #expect(try await store.insert(repeated) == reference.insert(repeated))
            try await comparison.run(10, store: store, reference: reference, using: &random)
        }
        try await comparison.run(80, store: store, reference: reference, using: &random)
    }

    /// Lord Howe Island goes from +11:00 to +10:30 on 2025-04-06: that day's hourly buckets start on UTC
    /// hours and its last one, half an hour long, ends on a half hour. The hour aggregates hold whole UTC
    /// hours, so that bucket must not take the next half hour's events.
    @Test func hoursEndingOnAHalfHour() async throws {
        let zone = try #require(ReportingZone(named: "Australia/Lord_Howe"))
        let start = zone.startOfDay(CalendarDate(year: 2025, month: 4, day: 5))
        let events = (0..<400).map { index in
            Event(id: EventID(high: 7, low: UInt64(index)), siteID: "isle", eventType: index % 3 == 0 ? "click" : "view",
                  path: "/", userID: "user-\(index % 37)", timestamp: start + Int64(index) * 900_000_000)
        }
        let store = ReadModelStore()
        let reference = InMemoryStore()
        #expect(try await store.insert(events) == reference.insert(events))
        for day in 5...7 {
            for eventType in [nil, "click"] {
                let date = CalendarDate(year: 2025, month: 4, day: day)
                let query = try #require(TimeseriesQuery(siteID: "isle", from: date, to: date, interval: .hour, zone: zone, eventType: eventType))
                #expect(try await store.timeseries(query) == reference.timeseries(query), "2025-04-0\(day), \(eventType ?? "every type")")
            }
        }
    }
}
