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

extension PostgresMigrationTests {
    /// A database at version 12 (events in one table, event_id unique): migration 13 moves its events into
    /// monthly partitions (and events_past, events_future), gives their ids a table of their own, and the
    /// store answers for them, takes new months, and keeps a resend out whatever its timestamp.
    @Test func eventsMoveIntoMonthlyPartitions() async throws {
        var configuration = PostgresStoreConfiguration()
        let schema = "Partitions_\(UInt64.random(in: 0...UInt64.max))"
        configuration.schema = schema
        ServerLeftovers.current?.schema(schema, in: PostgresUnderTest.url)
        let store = PostgresEventStore(url: PostgresUnderTest.url, configuration: configuration)
        defer { Task { await store.shutdown() } }
        #expect(try await store.migrate(through: 12) == Array(1...12))
        let instants: [Int64] = [
            -62_135_596_800_000_000, 946_684_799_999_999, 1_704_067_199_999_999, 1_704_067_200_000_000, 1_709_251_200_000_000,
            4_102_444_800_000_000, 253_402_300_799_999_999,
        ]
        let events = makeEvents(instants.count, site: "moved").enumerated().map { index, event in
            var event = event
            event.timestamp = instants[index]
            return event
        }
        let values = events.map { event in
            "('\(event.id)', '\(event.siteID)', '\(event.eventType)', '\(event.path)', \(event.userID.map { "'\($0)'" } ?? "NULL"), '\(event.timestampText)')"
        }
        try await PostgresUnderTest.execute("""
            INSERT INTO "\(schema)".events (event_id, site_id, event_type, path, user_id, timestamp) VALUES \(values.joined(separator: ","));
            INSERT INTO "\(schema)".site_versions VALUES ('moved', 1);
            """)
        #expect(try await store.migrate() == [13])
        let query = StatsQuery(siteID: "moved", limit: 100)
        #expect(try await store.stats(query) == (try await store.directStats(query)))
        #expect(try await store.stats(query).totalViews == instants.count)
        // Each instant in the partition of its month, or in events_past or events_future.
        let placed = try await PostgresUnderTest.rows("""
            SELECT tableoid::regclass::text, count(*) FROM "\(schema)".events GROUP BY 1 ORDER BY 1
            """)
        #expect(placed.map { $0[0] ?? "" } == [
            "\"\(schema)\".events_future", "\"\(schema)\".events_past", "\"\(schema)\".events_y2023m12", "\"\(schema)\".events_y2024m01",
            "\"\(schema)\".events_y2024m03",
        ])
        #expect(placed.map { $0[1] ?? "" } == ["2", "2", "1", "1", "1"])
        let ids = try await PostgresUnderTest.rows("SELECT count(*) FROM \"\(schema)\".event_ids")
        #expect(ids.first?[0] == String(instants.count))
        // The current month and the next two are there ahead of their events.
        let ahead = (0...2).map { ahead in
            let month = UTCMonth(containing: SystemClock().now).adding(months: ahead)
            return "events_y\(month.year)m" + (month.month < 10 ? "0" : "") + "\(month.month)"
        }
        let tables = try await PostgresUnderTest.rows("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '"\(schema)".events'::regclass
            """).compactMap { $0[0] }
        #expect(Set(ahead).isSubset(of: Set(tables)), "\(tables)")
        // A resend corrected into another month is the same event; a month with no partition yet gets one.
        var resent = events[3]
        resent.timestamp = 1_500_000_000_000_000
        var later = makeEvents(1, site: "moved")[0]
        later.timestamp = 2_000_000_000_000_000
        #expect(try await store.insert([resent, later]) == InsertResult(inserted: 1, duplicates: 1))
        #expect(try await store.stats(query) == (try await store.directStats(query)))
        #expect(try await store.stats(query).totalViews == instants.count + 1)
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
