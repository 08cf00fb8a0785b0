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
}
