import AnalyticsBlockingIO
import AnalyticsPostgres
import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing

/// The zone rules Swift cuts days with (Foundation's IANA data) agree with PostgreSQL's for the zones of
/// the golden scenarios, so a query a user checks with `AT TIME ZONE` in psql gets the same days. The
/// stores are only ever given instants computed in Swift; this is about the two databases of rules.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and DATABASE_URL"))
struct ZoneRulesTests {
    static let zones = ["Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati", "UTC", "Asia/Kolkata", "Etc/GMT+5"]

    @Test(arguments: zones)
    func startsOfDaysAndOffsetsAgreeWithPostgres(_ name: String) async throws {
        let zone = try #require(ReportingZone(named: name))
        let database = BlockingConnectionPool(size: 1) { try PostgresConnection(url: PostgresUnderTest.url) }
        defer { Task { await database.shutdown() } }

        // Local midnight of every day of 2024 to 2026.
        let days = try await database.withConnection {
            try $0.query("""
                SELECT d::date::text, (extract(epoch FROM (d::timestamp AT TIME ZONE $1)) * 1000000)::int8::text
                FROM generate_series('2024-01-01'::date, '2026-12-31'::date, '1 day') AS d ORDER BY d
                """, [name]).rows
        }
        #expect(days.count == 1096)
        for row in days {
            let day = try RFC3339.parseDate(row[0]!).get()
            #expect(zone.startOfDay(day) == Int64(row[1]!)!, "\(name) \(day)")
        }

        // The offset at every quarter hour of 2025.
        let offsets = try await database.withConnection {
            try $0.query("""
                SELECT (extract(epoch FROM t) * 1000000)::int8::text,
                       extract(epoch FROM (t AT TIME ZONE $1) - (t AT TIME ZONE 'UTC'))::int::text
                FROM generate_series('2025-01-01 00:00Z'::timestamptz, '2025-12-31 23:45Z', '15 minutes') AS t ORDER BY t
                """, [name]).rows
        }
        #expect(offsets.count == 365 * 96)
        var disagreements = 0
        for row in offsets where zone.offsetSeconds(atMicroseconds: Int64(row[0]!)!) != Int(row[1]!)! {
            disagreements += 1
            if disagreements < 5 { Issue.record("\(name) at \(row[0]!) µs: Swift \(zone.offsetSeconds(atMicroseconds: Int64(row[0]!)!)), PostgreSQL \(row[1]!)") }
        }
        #expect(disagreements == 0)
    }
}
