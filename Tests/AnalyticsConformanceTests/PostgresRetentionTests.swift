import AnalyticsBlockingIO
import AnalyticsCore
import AnalyticsPostgres
import AnalyticsSpec
import AnalyticsTestSupport
import Testing

/// What only the Postgres store's retention can meet: a partition an interrupted run left detached, and
/// inserts running while months are dropped.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and DATABASE_URL"), .removesServerLeftovers)
struct PostgresRetentionTests {
    static func store() async throws -> (PostgresEventStore, String) {
        var configuration = PostgresStoreConfiguration()
        let schema = "Retention_\(UInt64.random(in: 0...UInt64.max))"
        configuration.schema = schema
        configuration.smallestCopy = 1
        ServerLeftovers.current?.schema(schema, in: PostgresUnderTest.url)
        let store = PostgresEventStore(url: PostgresUnderTest.url, configuration: configuration)
        try await store.migrate()
        return (store, schema)
    }

    static func events(_ count: Int, site: String, month: UTCMonth, offset: Int = 0) -> [Event] {
        makeEvents(count, site: site).enumerated().map { index, event in
            var event = event
            event.timestamp = month.start + Int64(index + offset) * 60_000_000
            return event
        }
    }

    /// A month a run detached and did not drop is never attached again by an insert (its rows would come
    /// back): the insert fails as unavailable until a run finishes it, and its events are counted then.
    @Test func aPartitionLeftDetachedIsFinishedByTheNextRunNotAttachedAgain() async throws {
        let (store, schema) = try await Self.store()
        defer { Task { await store.shutdown() } }
        let february = UTCMonth(year: 2024, month: 2)!
        _ = try await store.insert(Self.events(5, site: "a", month: february) + Self.events(3, site: "a", month: february.adding(months: 1)))
        #expect(try await store.stats(StatsQuery(siteID: "a")).totalViews == 8)
        try await PostgresUnderTest.execute(#"ALTER TABLE "\#(schema)".events DETACH PARTITION "\#(schema)".events_y2024m02"#)
        let other = PostgresUnderTest.store(sharingTablesWith: store)
        defer { Task { await other.shutdown() } }
        await #expect(throws: StoreFailure.self) { try await other.insert(Self.events(1, site: "a", month: february, offset: 10)) }
        let outcome = try await store.dropEvents(before: february.adding(months: 1))
        #expect(outcome == RetentionOutcome(events: 5, sites: ["a"], months: [february]))
        #expect(try await other.insert(Self.events(1, site: "a", month: february, offset: 10)) == InsertResult(inserted: 0, duplicates: 0, expired: 1))
        let stats = try await store.stats(StatsQuery(siteID: "a"))
        #expect(stats == (try await store.directStats(StatsQuery(siteID: "a"))))
        #expect(stats.totalViews == 3)
    }

    /// A partition an interrupted run left detached is dropped by the next run even when its month is now
    /// kept (a longer --keep): its events were expired by that run, and no erasure since reached them.
    @Test func aLeftoverOfAMonthNowKeptIsDroppedNotRestored() async throws {
        let (store, schema) = try await Self.store()
        defer { Task { await store.shutdown() } }
        let march = UTCMonth(year: 2024, month: 3)!
        _ = try await store.insert(Self.events(4, site: "b", month: march) + Self.events(2, site: "b", month: march.adding(months: 1)))
        #expect(try await store.stats(StatsQuery(siteID: "b")).totalViews == 6)
        try await PostgresUnderTest.execute(#"ALTER TABLE "\#(schema)".events DETACH PARTITION "\#(schema)".events_y2024m03"#)
        #expect(try await store.dropEvents(before: UTCMonth(year: 2024, month: 2)!) == RetentionOutcome(events: 4, sites: ["b"], months: [march]))
        let stats = try await store.stats(StatsQuery(siteID: "b"))
        #expect(stats == (try await store.directStats(StatsQuery(siteID: "b"))))
        #expect(stats.totalViews == 2)
        // The month is open again for new events; the dropped ones' ids are free.
        #expect(try await store.insert(Self.events(1, site: "b", month: march, offset: 30)) == InsertResult(inserted: 1, duplicates: 0))
    }

    /// An insert that waits for the retention lock reads the first month kept as retention left it: the
    /// lock is taken in a statement of its own, before the one that reads the month (both insert paths).
    @Test(arguments: [1, Int.max])
    func anInsertWaitingForRetentionReadsTheMonthItMoved(smallestCopy: Int) async throws {
        let (store, schema) = try await Self.store()
        defer { Task { await store.shutdown() } }
        var configuration = PostgresStoreConfiguration()
        configuration.schema = schema
        configuration.smallestCopy = smallestCopy
        let writer = PostgresEventStore(url: PostgresUnderTest.url, configuration: configuration)
        defer { Task { await writer.shutdown() } }
        let march = UTCMonth(year: 2024, month: 3)!
        _ = try await writer.insert(Self.events(1, site: "c", month: march.adding(months: 2)))
        let retention = BlockingConnectionPool(size: 1) { try PostgresConnection(url: PostgresUnderTest.url, settings: ["search_path": "\"\(schema)\""]) }
        try await retention.withConnection {
            try $0.execute("BEGIN; SELECT pg_advisory_xact_lock(4242014); UPDATE retention SET first_month = '2024-04-01'")
        }
        let insert = Task { try await writer.insert(Self.events(5, site: "c", month: march)) }
        try await Task.sleep(for: .milliseconds(500))
        try await retention.withConnection { try $0.execute("COMMIT") }
        await retention.shutdown()
        #expect(try await insert.value == InsertResult(inserted: 0, duplicates: 0, expired: 5))
        #expect(try await store.stats(StatsQuery(siteID: "c")).totalViews == 1)
    }

    /// Inserts of months on both sides of the cutoff, from two stores, while a run drops the old months:
    /// every event is stored or expired as its month says, each stored one has its id and no dropped one
    /// keeps its, and every answer is what the remaining rows give.
    @Test func insertsRunningWhileMonthsAreDropped() async throws {
        let (store, schema) = try await Self.store()
        defer { Task { await store.shutdown() } }
        let other = PostgresUnderTest.store(sharingTablesWith: store)
        defer { Task { await other.shutdown() } }
        let cutoff = UTCMonth(year: 2024, month: 4)!
        let months = (0..<6).map { UTCMonth(year: 2024, month: 1)!.adding(months: $0) }
        _ = try await store.insert(months.flatMap { Self.events(50, site: "s\($0.month % 2)", month: $0) })
        for site in ["s0", "s1"] { _ = try await store.stats(StatsQuery(siteID: site)) }
        let results = try await withThrowingTaskGroup(of: (Int, InsertResult)?.self) { group in
            group.addTask {
                _ = try await store.dropEvents(before: cutoff)
                return nil
            }
            for round in 0..<20 {
                group.addTask {
                    let month = months[round % months.count]
                    let writer = round.isMultiple(of: 2) ? store : other
                    for attempt in 0..<50 {
                        do {
                            return (month.start < cutoff.start ? 1 : 0, try await writer.insert(
                                Self.events(20, site: "s\(round % 2)", month: month, offset: 100 + round * 20)))
                        } catch StoreFailure.unavailable {
                            try await Task.sleep(for: .milliseconds(50 * (attempt + 1)))
                        }
                    }
                    Issue.record("an insert never got through")
                    return nil
                }
            }
            var results: [(Int, InsertResult)] = []
            for try await result in group { if let result { results.append(result) } }
            return results
        }
        #expect(results.count == 20)
        for (old, result) in results where old == 0 { #expect(result == InsertResult(inserted: 20, duplicates: 0)) }
        for (old, result) in results where old == 1 { #expect(result.duplicates == 0 && result.inserted + result.expired == 20) }
        let counts = try await PostgresUnderTest.rows("""
            SELECT (SELECT count(*) FROM "\(schema)".events), (SELECT count(*) FROM "\(schema)".event_ids),
                (SELECT count(*) FROM "\(schema)".events WHERE timestamp < '2024-04-01 00:00:00+00'),
                (SELECT count(*) FROM "\(schema)".event_ids e WHERE NOT EXISTS (
                    SELECT 1 FROM "\(schema)".events v WHERE v.site_id = e.site_id AND v.event_id = e.event_id))
            """)
        #expect(counts.first?[0] == counts.first?[1], "every stored event has its id, and no other id is left: \(counts)")
        #expect(counts.first?[2] == "0", "nothing before the cutoff survives")
        #expect(counts.first?[3] == "0")
        for site in ["s0", "s1"] {
            for query in [StatsQuery(siteID: site, limit: 100), StatsQuery(siteID: site, zone: ReportingZone(named: "Asia/Tokyo"), limit: 100)] {
                #expect(try await store.stats(query) == (try await store.directStats(query)), "\(site)")
                #expect(try await other.stats(query) == (try await store.directStats(query)), "\(site), the other process")
            }
        }
        // A late resend of an old event is expired; of a kept one, a duplicate.
        #expect(try await other.insert(Self.events(1, site: "s0", month: months[0])) == InsertResult(inserted: 0, duplicates: 0, expired: 1))
    }
}
