import AnalyticsCore
import AnalyticsSpec
import Synchronization

/// The monthly partitions of `events` this process knows are attached, and the making of the ones an insert
/// needs: the months of its events from 2000 to 2099 (earlier and later instants go to `events_past` and
/// `events_future`), and the current month and the next two, so that a month's first events do not wait for
/// its partition. Making one is `events_month_partition` (migration 13), its own short transaction.
final class MonthPartitions: Sendable {
    /// Nil until read from the database (again after `forget`).
    private let known = Mutex<Set<UTCMonth>?>(nil)

    static let first = UTCMonth(year: 2000, month: 1)!
    static let end = UTCMonth(year: 2100, month: 1)!

    /// The months with partitions of their own that `events` (sorted or not) and the months ahead of `now` need.
    static func months(of events: [Event], now: Int64) -> Set<UTCMonth> {
        var months: Set<UTCMonth> = []
        var last: UTCMonth?
        for event in events {
            let month = UTCMonth(containing: event.timestamp)
            if month == last { continue }
            last = month
            months.insert(month)
        }
        let current = UTCMonth(containing: now)
        for ahead in 0...2 { months.insert(current.adding(months: ahead)) }
        return months.filter { $0 >= first && $0 < end }
    }

    /// Makes the partitions of `months` that are not known to be there, on `connection` (outside any
    /// transaction).
    func ensure(_ months: Set<UTCMonth>, on connection: PostgresConnection) throws {
        var attached = try known.withLock { $0 } ?? Self.attached(on: connection)
        for month in months.subtracting(attached).sorted() {
            try connection.query("SELECT events_month_partition($1::date)", ["\(month)-01"])
            attached.insert(month)
        }
        known.withLock { $0 = attached }
    }

    /// Forgets what it knew: the next `ensure` reads the partitions from the database.
    func forget() { known.withLock { $0 = nil } }

    /// The months whose partitions are attached to `events`.
    static func attached(on connection: PostgresConnection) throws -> Set<UTCMonth> {
        let names = try connection.query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'events'::regclass AND NOT i.inhdetachpending
            """).rows.compactMap { $0[0] }
        return Set(names.compactMap(month(ofPartition:)))
    }

    /// The month of a partition named `events_yYYYYmMM`.
    static func month(ofPartition name: String) -> UTCMonth? {
        let bytes = Array(name.utf8)
        guard bytes.count == 15, name.hasPrefix("events_y"), bytes[12] == UInt8(ascii: "m"),
            let year = Int(String(decoding: bytes[8..<12], as: UTF8.self)), let month = Int(String(decoding: bytes[13...], as: UTF8.self))
        else { return nil }
        return UTCMonth(year: year, month: month)
    }

    /// The name of a month's partition.
    static func partition(of month: UTCMonth) -> String {
        "events_y" + String(month.year) + (month.month < 10 ? "m0" : "m") + String(month.month)
    }

    /// An insert met no partition for one of its rows (SQLSTATE 23514, "no partition of relation ... found"):
    /// the tables an insert writes have no check constraint, so any 23514 is that, whatever the language of
    /// the server's messages.
    static func isMissingPartition(_ error: PostgresError) -> Bool {
        error.sqlState == "23514"
    }
}
