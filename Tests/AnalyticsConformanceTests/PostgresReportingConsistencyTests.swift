import AnalyticsCore
import AnalyticsInMemory
import AnalyticsPostgres
import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing

/// The Postgres store's answers (from its site indexes) equal a direct aggregation over `events` and the
/// in-memory store's scan.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and DATABASE_URL"), .removesServerLeftovers)
struct PostgresReportingConsistencyTests {
    @Test func answersEqualDirectAggregationForRandomQueries() async throws {
        let store = try #require(try await StoreBackend.postgres.make() as? PostgresEventStore)
        // A second worker process on the same tables, inserting batches between the first one's.
        let other = PostgresUnderTest.store(sharingTablesWith: store)
        let stores = [store, other]
        var random = SeededGenerator(seed: 20_251_114)
        let sites = ["alpha", "beta", "gamma", "delta"]
        let types = ["view", "click", "signup:completed"]
        let paths = (0..<60).map { "/page/\($0)" } + ["/", "/B", "/a", "/caf\u{E9}", "/cafe\u{301}"]
        let users: [String?] = (0..<400).map { "user-\($0)" } + [nil, nil, nil]
        let firstDay = CalendarDate(year: 2025, month: 1, day: 1).daysSinceEpoch

        var events: [Event] = []
        for _ in 0..<20_000 {
            let microseconds = Int64(firstDay + Int.random(in: 0..<90, using: &random)) * 86_400_000_000
                + Int64.random(in: 0..<86_400_000_000, using: &random)
            events.append(Event(
                id: EventID(high: random.next(), low: random.next()),
                siteID: sites.randomElement(using: &random)!, eventType: types.randomElement(using: &random)!,
                path: paths.randomElement(using: &random)!, userID: users.randomElement(using: &random)!,
                timestamp: microseconds))
        }
        // Duplicates: a tenth of the events sent again, some within the same batch, some later.
        let duplicates = (0..<2_000).map { _ in events.randomElement(using: &random)! }
        var batches: [[Event]] = stride(from: 0, to: events.count, by: 500).map { Array(events[$0..<min($0 + 500, events.count)]) }
        batches[3] += duplicates[0..<200]
        batches.append(Array(duplicates[200...]))
        // Four inserts at a time, alternating between the two stores, as several workers would run them.
        var inserted = 0
        var skipped = 0
        try await withThrowingTaskGroup(of: InsertResult.self) { group in
            var pending = Array(batches.enumerated())[...]
            for _ in 0..<4 {
                guard let next = pending.popFirst() else { break }
                group.addTask { try await stores[next.offset % 2].insert(next.element) }
            }
            while let result = try await group.next() {
                inserted += result.inserted
                skipped += result.duplicates
                if let next = pending.popFirst() { group.addTask { try await stores[next.offset % 2].insert(next.element) } }
            }
        }
        await other.shutdown()
        #expect(inserted == 20_000)
        #expect(skipped == 2_000)

        for _ in 0..<150 {
            let start = firstDay + Int.random(in: -5..<95, using: &random)
            let period: StatsQuery.Period
            switch Int.random(in: 0..<3, using: &random) {
            case 0: period = .allTime
            case 1: period = .day(CalendarDate(daysSinceEpoch: start))
            default: period = .range(from: CalendarDate(daysSinceEpoch: start), to: CalendarDate(daysSinceEpoch: start + Int.random(in: 0..<40, using: &random)))
            }
            let query = StatsQuery(
                siteID: (sites + ["nobody"]).randomElement(using: &random)!, period: period,
                zone: Bool.random(using: &random) ? ReportingComparison.zones.randomElement(using: &random) : nil,
                eventType: Bool.random(using: &random) ? types.randomElement(using: &random) : nil,
                limit: Int.random(in: 1...100, using: &random))
            let answer = try await store.stats(query)
            let direct = try await store.directStats(query)
            #expect(JSONWriter.string(answer.json) == JSONWriter.string(direct.json), "\(query)")
        }
        // Every endpoint against the in-memory store, a plain scan of the same events.
        let reference = InMemoryStore()
        _ = try await reference.insert(events)
        try await ReportingComparison(sites: sites, types: types, days: (firstDay - 5)..<(firstDay + 95))
            .run(50, store: store, reference: reference, using: &random)
    }
}
