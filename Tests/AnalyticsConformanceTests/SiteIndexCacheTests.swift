import AnalyticsCore
import AnalyticsInMemory
import AnalyticsPostgres
import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing

/// A reporting process's indexes follow the database: loaded once, then caught up from the change log
/// every insert writes (the fast path's events and, after a duplicate, only the events that path
/// stored), loaded again when the changes they need are gone, and the same for a process that inserts
/// nothing itself.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and DATABASE_URL"), .removesServerLeftovers)
struct SiteIndexCacheTests {
    @Test func indexesFollowInsertsThroughTheChangeLog() async throws {
        let writer = try #require(try await StoreBackend.postgres.make() as? PostgresEventStore)
        let reader = PostgresUnderTest.store(sharingTablesWith: writer)
        defer { Task { await reader.shutdown() } }
        let reference = InMemoryStore()
        var random = SeededGenerator(seed: 7)
        let firstDay = CalendarDate(year: 2025, month: 3, day: 20).daysSinceEpoch
        func batch(_ count: Int) -> [Event] {
            (0..<count).map { _ in
                Event(
                    id: EventID(high: random.next(), low: random.next()), siteID: ["a", "b"].randomElement(using: &random)!,
                    eventType: ["view", "click"].randomElement(using: &random)!, path: "/p\(Int.random(in: 0..<30, using: &random))",
                    userID: Bool.random(using: &random) ? "u\(Int.random(in: 0..<50, using: &random))" : nil,
                    timestamp: Int64(firstDay + Int.random(in: 0..<20, using: &random)) * 86_400_000_000 + Int64.random(in: 0..<86_400_000_000, using: &random))
            }
        }
        func expectSame(_ comment: Comment) async throws {
            for store in [writer, reader] {
                for site in ["a", "b"] {
                    for zone in [ReportingZone.utc, ReportingZone(named: "Europe/Berlin")!] {
                        let all = StatsQuery(siteID: site, zone: zone, limit: 100)
                        #expect(try await store.stats(all) == reference.stats(all), comment)
                        let series = try #require(TimeseriesQuery(
                            siteID: site, from: CalendarDate(daysSinceEpoch: firstDay - 1), to: CalendarDate(daysSinceEpoch: firstDay + 21),
                            interval: .day, zone: zone))
                        #expect(try await store.timeseries(series) == reference.timeseries(series), comment)
                        let breakdown = BreakdownQuery(siteID: site, dimension: .path, zone: zone, limit: 1000)
                        #expect(try await store.breakdown(breakdown) == reference.breakdown(breakdown), comment)
                    }
                }
            }
        }
        func insert(_ events: [Event]) async throws {
            _ = try await reference.insert(events)
            _ = try await writer.insert(events)
        }

        let first = batch(300)
        try await insert(first)
        try await expectSame("after the first batch")
        #expect(reader.indexRefreshes.loads == 2)  // one per site

        try await insert(batch(200))
        try await expectSame("after a fresh batch")
        // A batch that repeats stored events goes through ON CONFLICT: only its new events are logged.
        try await insert(batch(100) + first.prefix(40))
        try await expectSame("after a batch with duplicates")
        #expect(reader.indexRefreshes.loads == 2)
        #expect(reader.indexRefreshes.catchUps >= 4)

        // The changes a process needs are gone (pruned before it read them): it loads the site again.
        try await insert(batch(100))
        try await PostgresUnderTest.execute("DELETE FROM \"\(writer.schema!)\".site_changes")
        try await insert(batch(100))
        try await expectSame("after the change log was pruned")
        #expect(reader.indexRefreshes.loads == 4)
    }
}
