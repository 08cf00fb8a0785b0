import AnalyticsCore
import AnalyticsPostgres
import AnalyticsSpec
import AnalyticsTestSupport
import Testing

/// A database that already held events when the change log arrived (migration 8) answers for them, and for
/// the events inserted after.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and DATABASE_URL"), .removesServerLeftovers)
struct PostgresMigrationTests {
    /// A database an older build left at version 7, holding events: migrations 8 and 9 give its sites
    /// versions and drop the rollups, and the reporting index loads them, then catches up with new inserts.
    @Test func eventsStoredBeforeTheChangeLogAreCounted() async throws {
        var configuration = PostgresStoreConfiguration()
        let schema = "Migration_\(UInt64.random(in: 0...UInt64.max))"
        configuration.schema = schema
        ServerLeftovers.current?.schema(schema, in: PostgresUnderTest.url)
        let store = PostgresEventStore(url: PostgresUnderTest.url, configuration: configuration)
        defer { Task { await store.shutdown() } }
        #expect(try await store.migrate(through: 7) == Array(1...7))
        let types = ["view", "click", "scroll"]
        let events = (0..<3).flatMap { site in
            makeEvents(300, site: "site-\(site)", path: { "/p\($0 % 17)" }).enumerated().map { index, event in
                Event(id: event.id, siteID: event.siteID, eventType: types[index % 3], path: event.path, userID: event.userID,
                      timestamp: event.timestamp)
            }
        }
        // As version 7's inserts left them, minus the rollups that migration 9 drops anyway.
        let values = events[..<600].map { event in
            "('\(event.id)', '\(event.siteID)', '\(event.eventType)', '\(event.path)', \(event.userID.map { "'\($0)'" } ?? "NULL"), '\(event.timestampText)')"
        }
        try await PostgresUnderTest.execute("""
            INSERT INTO "\(schema)".events (event_id, site_id, event_type, path, user_id, timestamp) VALUES \(values.joined(separator: ","));
            """)
        #expect(try await store.migrate() == Array(8...Migrations.latest))
        for site in 0..<3 {
            let query = StatsQuery(siteID: "site-\(site)", limit: 100)
            #expect(try await store.stats(query) == (try await store.directStats(query)), "site-\(site) before more events")
        }
        _ = try await store.insert(Array(events[600...]))
        for site in 0..<3 {
            let query = StatsQuery(siteID: "site-\(site)", limit: 100)
            let stats = try await store.stats(query)
            #expect(stats == (try await store.directStats(query)), "site-\(site) after more events")
            #expect(stats.totalViews == 300)
        }
        #expect(store.indexRefreshes.loads == 3)
    }
}

/// A writer built for one schema version never writes into a database at another: its inserts fail as
/// "unavailable" (the batch stays queued, nothing is dead-lettered) until the versions match again.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and DATABASE_URL"), .removesServerLeftovers)
struct PostgresSchemaGuardTests {
    @Test(arguments: [StoreBackend.postgres, .postgresOneStatement])
    func insertsFailWhileTheSchemaIsAtAnotherVersion(_ backend: StoreBackend) async throws {
        let store = try #require(try await backend.make() as? PostgresEventStore)
        let schema = try #require(store.schema)
        let events = makeEvents(3, site: "guard")
        #expect(try await store.insert([events[0]]).inserted == 1)
        try await PostgresUnderTest.execute("INSERT INTO \"\(schema)\".schema_migrations (version, name) VALUES (99, 'from the future')")
        for batch in [[events[1]], [events[0], events[1]]] {
            do {
                _ = try await store.insert(batch)
                Issue.record("an insert succeeded against a newer schema")
            } catch StoreFailure.unavailable(let reason) {
                #expect(reason.contains("version 99"), "\(reason)")
            }
        }
        try await PostgresUnderTest.execute("DELETE FROM \"\(schema)\".schema_migrations WHERE version = 99")
        #expect(try await store.insert([events[0], events[1], events[2]]) == InsertResult(inserted: 2, duplicates: 1))
        #expect(try await store.stats(StatsQuery(siteID: "guard")).totalViews == 3)
    }
}
