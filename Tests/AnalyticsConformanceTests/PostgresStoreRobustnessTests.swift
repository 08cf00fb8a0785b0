import AnalyticsCore
import AnalyticsPostgres
import AnalyticsSpec
import AnalyticsTestSupport
import Foundation
import Testing

/// The Postgres store under conditions the conformance suite does not create: a reconnection to a server
/// that lacks what the old one had, and concurrent batches on a database whose default collation is not C.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and DATABASE_URL"), .removesServerLeftovers)
struct PostgresStoreRobustnessTests {
    /// `DATABASE_URL` with another user name.
    static func url(user: String, database: String? = nil) throws -> String {
        var components = try #require(URLComponents(string: PostgresUnderTest.url))
        components.user = user
        if let database { components.path = "/" + database }
        return try #require(components.string)
    }

    /// After its connections are cut, the store may be talking to another server (a failover). Here the
    /// "other server" is the same one with the site's rows gone, as a replica that had not received
    /// them would be: a user the store had seen before must be counted again, not skipped as known.
    @Test func aReconnectionForgetsTheUsersKnownCommitted() async throws {
        let role = "reconnect_\(UInt64.random(in: 0...UInt64.max))"
        try await PostgresUnderTest.execute("CREATE ROLE \(role) LOGIN SUPERUSER")
        defer { Task { try? await PostgresUnderTest.execute("DROP ROLE IF EXISTS \(role)") } }
        var configuration = PostgresStoreConfiguration()
        let schema = "Reconnect_\(UInt64.random(in: 0...UInt64.max))"
        configuration.schema = schema
        configuration.connections = 1
        ServerLeftovers.current?.schema(schema, in: PostgresUnderTest.url)
        let store = PostgresEventStore(url: try Self.url(user: role), configuration: configuration)
        try await store.migrate()
        let events = makeEvents(2, site: "failover")
        #expect(try await store.insert([events[0]]).inserted == 1)

        let tables = ["events", "event_ids", "site_versions", "site_changes"]
        try await PostgresUnderTest.execute(tables.map { "DELETE FROM \"\(schema)\".\($0);" }.joined()
            + "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '\(role)'")
        var second = events[1]
        second.userID = events[0].userID
        #expect(try await store.insert([second]).inserted == 1)
        let stats = try await store.stats(StatsQuery(siteID: "failover"))
        #expect(stats.totalViews == 1)
        #expect(stats.uniqueUsers == 1)
        await store.shutdown()
        try await PostgresUnderTest.execute("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE; DROP ROLE IF EXISTS \(role)")
    }

    /// An insert spans round trips in one transaction; the server gives up on a session whose client is
    /// gone within seconds (TCP keepalives and user timeout) or that sits idle in a transaction, rather
    /// than hold its locks for the operating system's hours of keepalive.
    @Test func theServerGivesUpOnAVanishedClient() throws {
        let connection = try PostgresConnection(url: PostgresUnderTest.url)
        let settings = try connection.query("""
            SELECT current_setting('tcp_keepalives_idle'), current_setting('tcp_keepalives_interval'),
                current_setting('tcp_keepalives_count'), current_setting('tcp_user_timeout'),
                current_setting('idle_in_transaction_session_timeout')
            """).rows.first
        // Over a Unix socket the TCP settings read 0; the tests connect over TCP.
        #expect(settings == ["5", "2", "3", "10000", "1min"])
        connection.close()
    }

    /// On a database whose default collation orders "B" before "a" and "é" among the e's (ICU's en-US),
    /// fresh and redelivered batches of the same keys, in every order, insert concurrently without a
    /// deadlock, and count each event once.
    @Test func concurrentBatchesDoNotDeadlockUnderANonCCollation() async throws {
        let database = "analytics_icu"
        try? await PostgresUnderTest.execute(
            "CREATE DATABASE \(database) TEMPLATE template0 ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
        let url = try Self.url(user: URLComponents(string: PostgresUnderTest.url)?.user ?? "analytics", database: database)
        var configuration = PostgresStoreConfiguration()
        let schema = "Collation_\(UInt64.random(in: 0...UInt64.max))"
        configuration.schema = schema
        configuration.connections = 6
        configuration.smallestCopy = 1
        ServerLeftovers.current?.schema(schema, in: url)
        let store = PostgresEventStore(url: url, configuration: configuration)
        try await store.migrate()
        let keys = ["a", "B", "_c", "é", "e", "Z", "ä", "A", "b", "-", "1", "中"]
        let events = makeEvents(600, site: "collation", path: { "/" + keys[$0 % keys.count] + keys[($0 / 12) % keys.count] })
            .enumerated().map { index, event in
                var event = event
                event.userID = keys[(index * 7) % keys.count] + keys[index % 5]
                return event
            }
        for round in 0..<4 {
            let slice = Array(events[(round * 150)..<(round * 150 + 150)])
            var generator = SeededGenerator(seed: UInt64(round))
            // Half of each batch overlaps another, so some go the redelivery path, some the fresh one.
            let batches = (0..<6).map { offset in
                Array(slice[(offset * 20)..<(offset * 20 + 50)]).shuffled(using: &generator)
            }
            _ = try await withThrowingTaskGroup(of: InsertResult.self) { group in
                for batch in batches { group.addTask { try await store.insert(batch) } }
                return try await group.reduce(into: [InsertResult]()) { $0.append($1) }
            }
        }
        let stored = (0..<4).flatMap { round in events[(round * 150)..<(round * 150 + 150)] }
        let query = StatsQuery(siteID: "collation", limit: 100)
        let stats = try await store.stats(query)
        #expect(stats == (try await store.directStats(query)))
        #expect(stats.totalViews == Set(stored.map(\.id)).count)
        await store.shutdown()
    }
}
