import AnalyticsBlockingIO
import AnalyticsCore
import AnalyticsReadModel
import AnalyticsSpec
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How a `PostgresEventStore` connects.
public struct PostgresStoreConfiguration: Sendable {
    /// Connections, and the threads that run them.
    public var connections = 4
    /// The schema to keep the tables in (letters, digits and underscores); nil for the server's default search path.
    public var schema: String?
    /// How many events the reporting indexes of this process may hold in all, about 65 bytes each with
    /// one zone; past it the least recently used sites are dropped (and loaded again when asked for).
    public var indexedEvents = 20_000_000
    /// How long inserts keep their logged changes for reporting processes to catch up from.
    public var changeRetention: Duration = .seconds(900)
    /// Batches of fewer events are stored in one statement instead of by `COPY`, whose four round trips
    /// cost a batch of a few events more than its rows do.
    public var smallestCopy = 100

    public init() {}
}

/// An `EventStore` on PostgreSQL through libpq.
///
/// `insert` is one transaction: a binary `COPY` of the events and an `INSERT` of their ids into
/// `event_ids`, or, for a small batch or when an event is already stored, the ids first with
/// `ON CONFLICT (site_id, event_id) DO NOTHING` and only the events whose ids were new; in both the change
/// log of the events actually inserted under their sites' next versions, so a redelivered event is never
/// counted twice. `events` is partitioned by month (`MonthPartitions` makes a month's partition before the
/// first insert that needs it); `erase` and `dropEvents` delete, and make every reporting process load the
/// sites concerned again.
/// The reporting queries are answered from a `SiteIndex` per site kept in this process and brought up to
/// date from that log (`SiteIndexCache`); `directStats` answers the seed's way, from `events`.
/// Every query is parameterized.
public final class PostgresEventStore: EventStore {
    private let pool: BlockingConnectionPool<PostgresConnection>
    private let indexes: SiteIndexCache
    private let changeRetention: Duration
    private let smallestCopy: Int
    private let partitions = MonthPartitions()
    /// When this process last pruned `site_changes`.
    private let lastPrune = Mutex<ContinuousClock.Instant?>(nil)
    public let schema: String?

    public init(url: String, configuration: PostgresStoreConfiguration = PostgresStoreConfiguration()) {
        schema = configuration.schema
        // Quoted as `migrate` quotes it in CREATE SCHEMA: unquoted, the server would fold "Stats" to stats.
        let settings = configuration.schema.map { ["search_path": Self.quoted($0)] } ?? [:]
        let indexesOnceMade = IndexesBox()
        pool = BlockingConnectionPool(size: configuration.connections) {
            let connection = try PostgresConnection(url: url, settings: settings)
            // A new connection may reach another server (a failover to a replica that had not received
            // every commit): the reporting indexes are dropped if the server is another one or restarted.
            if let started = try connection.query("SELECT pg_postmaster_start_time()::text").rows.first?[0] {
                indexesOnceMade.cache.withLock { $0 }?.connected(toServerStartedAt: started)
            }
            return connection
        }
        let indexes = SiteIndexCache(pool: pool, maximumEvents: configuration.indexedEvents)
        indexesOnceMade.cache.withLock { $0 = indexes }
        self.indexes = indexes
        changeRetention = configuration.changeRetention
        smallestCopy = configuration.smallestCopy
    }

    public func shutdown() async { await pool.shutdown() }

    /// Runs `body` on a pooled connection, turning failures into `StoreFailure`. When the connection turns
    /// out to be dead (the server restarted since it was opened), `body` runs once more on a fresh one:
    /// every call here is a single transaction, so running it again is safe (an insert that did commit
    /// meets its own events, and stores and logs nothing the second time).
    private func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        do {
            do {
                return try await pool.withConnection(body)
            } catch let error as PostgresError where error.connectionLost {
                return try await pool.withConnection(body)
            }
        } catch let error as PostgresError {
            throw error.isTransient ? StoreFailure.unavailable(error.description) : StoreFailure.rejected(error.description)
        } catch let error as StoreFailure {
            throw error
        } catch {
            throw StoreFailure.unavailable("\(error)")
        }
    }

    // MARK: Migrations

    /// Applies the migrations not yet recorded in `schema_migrations`, in one transaction, under an
    /// advisory lock so that processes starting together do not race. Returns the versions applied.
    @discardableResult
    public func migrate() async throws -> [Int] { try await migrate(through: Migrations.latest) }

    /// Applies the pending migrations up to `version` only: for tests of what a later one does to a
    /// database an older build left.
    @discardableResult
    public func migrate(through version: Int) async throws -> [Int] {
        let schema = self.schema
        return try await withConnection { connection in
            try connection.execute("BEGIN")
            do {
                try connection.query("SELECT pg_advisory_xact_lock(4242001)")
                if let schema { try connection.execute("CREATE SCHEMA IF NOT EXISTS \(Self.quoted(schema))") }
                try connection.execute("""
                    CREATE TABLE IF NOT EXISTS schema_migrations (
                        version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())
                    """)
                let done = Set(try connection.query("SELECT version FROM schema_migrations").rows.compactMap { $0[0].flatMap { Int($0) } })
                let pending = Migrations.all.filter { !done.contains($0.version) && $0.version <= version }
                if !pending.isEmpty {
                    // Inserts in flight commit first (their rows are then in every fill), and inserts that
                    // arrive wait for this commit, then meet the new schema (and its version check).
                    let existing = try connection.query(
                        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema()"
                    ).rows.compactMap { $0[0] }
                    let tables = Migrations.writtenTables.filter(existing.contains)
                    if !tables.isEmpty {
                        try connection.execute("LOCK TABLE \(tables.joined(separator: ", ")) IN SHARE ROW EXCLUSIVE MODE")
                    }
                }
                var applied: [Int] = []
                for migration in pending {
                    try connection.execute(migration.sql)
                    try connection.query(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", [String(migration.version), migration.name])
                    applied.append(migration.version)
                }
                try connection.execute("COMMIT")
                return applied
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }

    // MARK: EventStore

    public func insert(_ events: [Event]) async throws -> InsertResult {
        guard !events.isEmpty else { return InsertResult(inserted: 0, duplicates: 0) }
        // Sorted by site (its bytes) and event_id, the first version of a duplicate first: concurrent inserts
        // take the ids' key locks in one order, and a batch's first version of an event is the one kept.
        let order = events.indices.sorted { a, b in
            let (x, y) = (events[a], events[b])
            if !x.siteID.utf8.elementsEqual(y.siteID.utf8) { return x.siteID.utf8.lexicographicallyPrecedes(y.siteID.utf8) }
            return (x.id, a) < (y.id, b)
        }
        let sorted = order.map { events[$0] }
        let months = MonthPartitions.months(of: sorted, now: SystemClock().now)
        let smallestCopy = self.smallestCopy
        let partitions = self.partitions
        let (inserted, expired) = try await withConnection { connection -> (Int, Int) in
            try partitions.ensure(months, on: connection)
            do {
                // A small batch (a quiet moment: the worker took what had just arrived) goes in one statement;
                // the copy's round trips would cost it more time than its rows do, and its events would wait.
                if sorted.count >= smallestCopy {
                    do {
                        let expired = try Self.copyNew(sorted, on: connection)
                        return (events.count - expired, expired)
                    } catch let error as PostgresError where error.sqlState == Self.uniqueViolation {
                        // An event stored already: the batch goes through insertSQL.
                    }
                }
                return try Self.insertOneByOne(sorted, on: connection)
            } catch let error as PostgresError where MonthPartitions.isMissingPartition(error) {
                // Retention dropped a month this process thought was there: the next attempt makes it again.
                partitions.forget()
                throw StoreFailure.unavailable(error.description)
            }
        }
        pruneChangesNowAndThen()
        return InsertResult(inserted: inserted, duplicates: events.count - inserted - expired, expired: expired)
    }

    /// `insertSQL` in a transaction that first takes the retention lock (`retentionLock`), so that the
    /// statement's snapshot, taken after it, reads the first month kept as it stands. Returns the events
    /// inserted and the events expired.
    static func insertOneByOne(_ events: [Event], on connection: PostgresConnection) throws -> (Int, Int) {
        var row: [String?]?
        try transaction(on: connection) {
            try connection.query("SELECT pg_advisory_xact_lock_shared(\(retentionLock))")
            row = try connection.query(Self.insertSQL, binary: Self.arrays(of: events)).rows.first
        }
        return (row?[0].flatMap { Int($0) } ?? 0, row?[1].flatMap { Int($0) } ?? 0)
    }

    /// Held shared by every insert from before it reads the first month kept until it commits, and taken
    /// exclusively by retention to move that month: once moved, no insert still writes before it.
    static let retentionLock = 4_242_014

    /// Stores a batch none of whose events is stored yet, the usual case, in one transaction: ids from the
    /// sequence, the rows by binary `COPY` (which writes a page of rows at a time), then their event ids, the
    /// sites' versions and the change log (`logChangesSQL`). An event already stored, or twice in the batch,
    /// fails the ids' insert with a unique violation, the transaction is rolled back, and the caller goes
    /// through `insertSQL` instead.
    ///
    /// `events` (the parent only, not every partition) is locked before the version check, as an `INSERT`
    /// locks it before it runs: a migration holds that table until it commits, so a batch that waited for
    /// one fails the check instead of writing rows in the old schema's form. The retention lock is taken
    /// before the first month kept is read, in a statement of its own (a snapshot taken after the lock);
    /// events before that month are expired, not copied. Returns how many were.
    static func copyNew(_ batch: [Event], on connection: PostgresConnection) throws -> Int {
        do {
            let rows = try connection.execute("""
                BEGIN; LOCK TABLE ONLY events IN ROW EXCLUSIVE MODE; SELECT schema_guard(\(Migrations.latest));
                SELECT pg_advisory_xact_lock_shared(\(retentionLock));
                SELECT nextval('events_id_seq'), (SELECT to_char(first_month, 'YYYY-MM') FROM retention) FROM generate_series(1, \(batch.count))
                """).rows
            let assigned = rows.compactMap { $0[0].flatMap { Int64($0) } }
            guard assigned.count == batch.count else {
                throw PostgresError(sqlState: nil, message: "the id sequence gave \(assigned.count) ids for \(batch.count) events", connectionLost: false)
            }
            let firstKept = try rows.first?[1].map { text in
                guard let month = UTCMonth(yearMonth: text) else {
                    throw PostgresError(sqlState: nil, message: "retention's first month is not YYYY-MM: \(text)", connectionLost: false)
                }
                return month
            }
            let events = firstKept.map { first in batch.filter { $0.timestamp >= first.start } } ?? batch
            guard !events.isEmpty else {
                try connection.execute("COMMIT")
                return batch.count
            }
            var copied = PostgresBinaryCopy(capacity: events.count * 120)
            var ids = PostgresBinaryArray(of: .int8, capacity: events.count * 12)
            var sites = PostgresBinaryArray(of: .text, capacity: events.count * 16)
            var eventIDs = PostgresBinaryArray(of: .uuid, capacity: events.count * 20)
            var timestamps = PostgresBinaryArray(of: .timestamptz, capacity: events.count * 12)
            for (event, id) in zip(events, assigned) {
                copied.beginRow(fields: 7)
                copied.append(id)
                copied.append(event.id)
                copied.append(event.siteID)
                copied.append(event.eventType)
                copied.append(event.path)
                copied.append(event.userID)
                copied.append(microsecondsSinceUnixEpoch: event.timestamp)
                ids.append(id)
                sites.append(event.siteID)
                eventIDs.append(event.id)
                timestamps.append(microsecondsSinceUnixEpoch: event.timestamp)
            }
            try connection.copyIn(Self.copySQL, data: copied.finish())
            try connection.query(Self.logChangesSQL, binary: [ids.finish(), sites.finish(), eventIDs.finish(), timestamps.finish()])
            try connection.execute("COMMIT")
            return batch.count - events.count
        } catch {
            // A connection whose transaction cannot be rolled back is not handed out again.
            if !connection.isBroken, (try? connection.execute("ROLLBACK")) == nil { connection.close() }
            throw error
        }
    }

    /// The events as the arrays `insertSQL` takes.
    static func arrays(of events: [Event]) -> [[UInt8]] {
        var ids = PostgresBinaryArray(of: .uuid, capacity: events.count * 20)
        var sites = PostgresBinaryArray(of: .text, capacity: events.count * 16)
        var types = PostgresBinaryArray(of: .text, capacity: events.count * 12)
        var paths = PostgresBinaryArray(of: .text, capacity: events.count * 24)
        var users = PostgresBinaryArray(of: .text, capacity: events.count * 16)
        var timestamps = PostgresBinaryArray(of: .timestamptz, capacity: events.count * 12)
        for event in events {
            ids.append(event.id)
            sites.append(event.siteID)
            types.append(event.eventType)
            paths.append(event.path)
            users.append(event.userID)
            timestamps.append(microsecondsSinceUnixEpoch: event.timestamp)
        }
        return [ids.finish(), sites.finish(), types.finish(), paths.finish(), users.finish(), timestamps.finish()]
    }

    /// Deletes the logged changes older than `changeRetention`, at most once a minute per process. A
    /// failure is left for the next time: the log only grows meanwhile.
    private func pruneChangesNowAndThen() {
        let now = ContinuousClock.now
        let due = lastPrune.withLock { last in
            guard last.map({ now - $0 >= .seconds(60) }) ?? true else { return false }
            last = now
            return true
        }
        guard due else { return }
        let seconds = String(changeRetention.components.seconds)
        // Detached: the batch that happens to be due does not wait for the DELETE.
        Task { _ = try? await withConnection { try $0.query("DELETE FROM site_changes WHERE created_at < now() - ($1 || ' seconds')::interval", [seconds]) } }
    }

    static let uniqueViolation = "23505"


    static let copySQL = "COPY events (id, event_id, site_id, event_type, path, user_id, timestamp) FROM STDIN (FORMAT binary)"

    /// After `copySQL`, in its transaction: the events' ids (`$3`, with their sites in `$2` and timestamps in
    /// `$4`) go into `event_ids`, which fails on one already taken; each site of the batch gets its next
    /// version, in site order, and the ids and timestamps of its events (`$1`, `$4`) are logged under it. The
    /// site's row is locked from there to the commit, so a later insert gets the next version only once this
    /// one is visible: versions follow commit order. The versions read `ids_taken`, so that the ids are taken
    /// before the sites' rows are locked, the order `insertSQL` takes them in: a data-modifying `WITH` that
    /// nothing reads runs last, and the two orders would deadlock.
    static let logChangesSQL = """
        WITH ids_taken AS (
            INSERT INTO event_ids (site_id, event_id, month)
            SELECT s, e, date_trunc('month', t AT TIME ZONE 'UTC')::date FROM unnest($2::text[], $3::uuid[], $4::timestamptz[]) AS x(s, e, t)
            RETURNING 1
        ), site_versions_bumped AS (
            INSERT INTO site_versions AS v (site_id, version)
            SELECT DISTINCT site_id COLLATE "C", 1 FROM unnest($2::text[]) AS s(site_id)
            WHERE (SELECT count(*) FROM ids_taken) >= 0
            ORDER BY 1
            ON CONFLICT (site_id) DO UPDATE SET version = v.version + 1
            RETURNING site_id, version
        )
        INSERT INTO site_changes (site_id, version, ids, timestamps)
        SELECT b.site_id, b.version, array_agg(e.id ORDER BY e.id), array_agg(e.ts ORDER BY e.id)
        FROM site_versions_bumped b JOIN unnest($1::bigint[], $2::text[], $4::timestamptz[]) AS e(id, site_id, ts) ON e.site_id COLLATE "C" = b.site_id
        GROUP BY b.site_id, b.version
        """

    /// A batch under `smallestCopy`, or one whose copy met an event already stored (run by `insertOneByOne`,
    /// after the retention lock): events before the first month kept are expired; the first version of each
    /// event of the batch (`WITH ORDINALITY`) takes its id in `event_ids` with `ON CONFLICT DO NOTHING`, and
    /// only the events whose ids it took go into `events`, so a skipped event, or a skipped second version of
    /// one, counts for nothing, whatever its timestamp. The versions and the log, in common table expressions
    /// that run after the insert, are `logChangesSQL`'s for the rows it returned.
    static let insertSQL = """
        WITH guard AS (
            SELECT schema_guard(\(Migrations.latest)), (SELECT first_month::timestamp AT TIME ZONE 'UTC' FROM retention) AS first_kept
        ), batch AS (
            SELECT DISTINCT ON (e.site_id COLLATE "C", e.event_id) e.*
            FROM guard, unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
                WITH ORDINALITY AS e(event_id, site_id, event_type, path, user_id, timestamp, n)
            WHERE guard.first_kept IS NULL OR e.timestamp >= guard.first_kept
            ORDER BY e.site_id COLLATE "C", e.event_id, e.n
        ), ids_taken AS (
            INSERT INTO event_ids (site_id, event_id, month)
            SELECT site_id, event_id, date_trunc('month', timestamp AT TIME ZONE 'UTC')::date FROM batch ORDER BY site_id COLLATE "C", event_id
            ON CONFLICT (site_id, event_id) DO NOTHING
            RETURNING site_id, event_id
        ), inserted AS (
            INSERT INTO events (event_id, site_id, event_type, path, user_id, timestamp)
            SELECT b.event_id, b.site_id, b.event_type, b.path, b.user_id, b.timestamp
            FROM batch b JOIN ids_taken t ON t.site_id = b.site_id COLLATE "C" AND t.event_id = b.event_id
            RETURNING id, site_id COLLATE "C" AS site_id, timestamp
        ), site_versions_bumped AS (
            INSERT INTO site_versions AS v (site_id, version)
            SELECT DISTINCT site_id, 1 FROM inserted ORDER BY 1
            ON CONFLICT (site_id) DO UPDATE SET version = v.version + 1
            RETURNING site_id, version
        ), changes_logged AS (
            INSERT INTO site_changes (site_id, version, ids, timestamps)
            SELECT b.site_id, b.version, array_agg(i.id ORDER BY i.id), array_agg(i.timestamp ORDER BY i.id)
            FROM site_versions_bumped b JOIN inserted i ON i.site_id = b.site_id
            GROUP BY b.site_id, b.version
        )
        SELECT (SELECT count(*) FROM inserted),
            (SELECT count(*) FROM guard, unnest($6::timestamptz[]) AS t(ts) WHERE t.ts < guard.first_kept)
        """

    // Every reporting query is answered from the site's index in this process, brought up to date
    // with the database first (`SiteIndexCache`).

    public func stats(_ query: StatsQuery) async throws -> StatsResponse {
        let index = try await index(query.siteID, query.zone)
        return try await SiteIndexCache.compute { index.stats(query) }
    }

    public func timeseries(_ query: TimeseriesQuery) async throws -> TimeseriesResponse {
        let index = try await index(query.siteID, query.zone)
        return try await SiteIndexCache.compute { index.timeseries(query) }
    }

    public func breakdown(_ query: BreakdownQuery) async throws -> BreakdownResponse {
        let index = try await index(query.siteID, query.zone)
        return try await SiteIndexCache.compute { index.breakdown(query) }
    }

    /// How many times this process loaded a site's index from `events`, and caught one up from the
    /// change log.
    public var indexRefreshes: (loads: Int, catchUps: Int) {
        let counts = indexes.counts
        return (counts.loads, counts.catchUps)
    }

    private func index(_ site: String, _ zone: ReportingZone?) async throws -> SiteIndex {
        do {
            return try await indexes.index(site: site, zone: zone ?? .utc)
        } catch let error as PostgresError {
            throw StoreFailure.unavailable(error.description)
        } catch let error as StoreFailure {
            throw error
        } catch {
            throw StoreFailure.unavailable("\(error)")
        }
    }

    // MARK: Erasure and retention

    /// First waits for the inserts of the site that hold its version row (in a transaction of its own, so
    /// that the row is not held through the delete, which reads every event of the site); then, in one
    /// transaction, the user's events go and, if there were any, the site's version is bumped (last, as
    /// inserts and retention lock it) without a logged change, so that every reporting process finds a change
    /// missing and loads the site again. The ids stay in `event_ids` (a resend stays erased) until retention
    /// drops their month.
    public func erase(site: String, user: String) async throws -> Int {
        try await withConnection { connection in
            try Self.transaction(on: connection) {
                try connection.query("SELECT schema_guard(\(Migrations.latest))")
                try connection.query("SELECT 1 FROM site_versions WHERE site_id = $1 FOR UPDATE", [site])
            }
            var erased = 0
            try Self.transaction(on: connection) {
                erased = try connection.query(
                    "WITH erased AS (DELETE FROM events WHERE site_id = $1 AND user_id = $2 RETURNING 1) SELECT count(*) FROM erased",
                    [site, user]
                ).rows.first?[0].flatMap { Int($0) } ?? 0
                if erased > 0 { try connection.query("UPDATE site_versions SET version = version + 1 WHERE site_id = $1", [site]) }
            }
            return erased
        }
    }

    /// Drops every event before `cutoff`, in steps that each leave the data whole, one run at a time (a
    /// session advisory lock):
    ///
    /// 1. The first month kept moves to `cutoff` under the retention lock (`retentionLock`), which waits for
    ///    the inserts that read the old one: from then on no insert writes before it (they expire such events).
    ///    It is tried a second at a time, so that new inserts do not queue behind it for long.
    /// 2. Each month partition before it is detached concurrently (inserts and reads go on; it waits for the
    ///    transactions that may still see it), or finished if an earlier run left it pending; then, in one
    ///    transaction, locked, its events counted by site, its months' ids deleted, its sites' versions bumped
    ///    (last: their rows stay locked the least), and dropped. A partition an earlier run left detached is
    ///    dropped so too, whatever its month (its events were expired by that run's cutoff).
    /// 3. The rows of `events_past` before it and every id left before it (erased events') go, in one
    ///    transaction, the sites bumped last.
    ///
    /// A bumped site has no logged change for its new version: every reporting process loads it again.
    public func dropEvents(before month: UTCMonth) async throws -> RetentionOutcome {
        let partitions = self.partitions
        return try await withConnection { connection in
            defer { partitions.forget() }
            try connection.query("SELECT pg_advisory_lock(\(Self.retentionRunLock))")
            defer { _ = try? connection.query("SELECT pg_advisory_unlock(\(Self.retentionRunLock))") }
            return try Self.dropEvents(before: month, on: connection)
        }
    }

    /// One retention run at a time.
    static let retentionRunLock = 4_242_015

    static func dropEvents(before cutoff: UTCMonth, on connection: PostgresConnection) throws -> RetentionOutcome {
        try connection.query("SELECT schema_guard(\(Migrations.latest))")
        // Waiting for the exclusive lock would queue every new insert behind it while an insert in flight
        // is slow: tried a second at a time, with a pause in between for the queued inserts to pass.
        while true {
            do {
                try transaction(on: connection) {
                    try connection.query("SET LOCAL lock_timeout = '1s'")
                    try connection.query("SELECT pg_advisory_xact_lock(\(retentionLock))")
                    try connection.query("UPDATE retention SET first_month = $1::date", ["\(cutoff)-01"])
                }
                break
            } catch let error as PostgresError where error.sqlState == "55P03" {
                usleep(200_000)  // on the pool's thread, which a retention run holds anyway
            }
        }
        var counts: [String: Int] = [:]
        var months: Set<UTCMonth> = []
        let found = try connection.query("""
            SELECT c.relname, CASE WHEN i.inhrelid IS NULL THEN 'detached' WHEN i.inhdetachpending THEN 'pending' ELSE 'attached' END
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'events'::regclass
            WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname ~ '^events_y[0-9]{4}m[0-9]{2}$'
            """).rows
        let tables = found.compactMap { row -> (UTCMonth, String, String)? in
            guard let name = row[0], let state = row[1], let month = MonthPartitions.month(ofPartition: name) else { return nil }
            return (month, name, state)
        }.sorted { $0.0 < $1.0 }
        for (month, name, state) in tables {
            let table = quoted(name)
            // A month kept stays, unless an earlier run (with a later cutoff) left it detached: its events were
            // expired then, and erasures since have not reached them, so it is dropped all the same.
            if month >= cutoff, state == "attached" { continue }
            if state == "pending" { try connection.execute("ALTER TABLE events DETACH PARTITION \(table) FINALIZE") }
            if state == "attached" { try connection.execute("ALTER TABLE events DETACH PARTITION \(table) CONCURRENTLY") }
            try transaction(on: connection) {
                try connection.execute("LOCK TABLE \(table) IN ACCESS EXCLUSIVE MODE")
                var sites: [String] = []
                for row in try connection.query("SELECT site_id, count(*) FROM \(table) GROUP BY site_id").rows {
                    guard let site = row[0], let count = row[1].flatMap({ Int($0) }) else { continue }
                    counts[site, default: 0] += count
                    sites.append(site)
                    months.insert(month)
                }
                try connection.query("DELETE FROM event_ids WHERE month = $1::date", ["\(month)-01"])
                try bump(sites, on: connection)
                try connection.execute("DROP TABLE \(table)")
            }
        }
        try transaction(on: connection) {
            let gone = try connection.query("""
                WITH gone AS (DELETE FROM events_past WHERE timestamp < $1::timestamptz RETURNING site_id, timestamp)
                SELECT site_id, to_char(date_trunc('month', timestamp AT TIME ZONE 'UTC'), 'YYYY-MM'), count(*) FROM gone GROUP BY 1, 2
                """, ["\(cutoff)-01 00:00:00+00"]).rows
            var sites: Set<String> = []
            for row in gone {
                guard let site = row[0], let month = row[1].flatMap(UTCMonth.init(yearMonth:)), let count = row[2].flatMap({ Int($0) }) else { continue }
                counts[site, default: 0] += count
                sites.insert(site)
                months.insert(month)
            }
            try connection.query("DELETE FROM event_ids WHERE month < $1::date", ["\(cutoff)-01"])
            try bump(Array(sites), on: connection)
        }
        return RetentionOutcome(
            events: counts.values.reduce(0, +), sites: SitesResponse(sites: counts.keys, token: nil).sites, months: months.sorted())
    }

    /// Bumps the versions of `sites` without a logged change (in site order, the order inserts lock them in).
    private static func bump(_ sites: [String], on connection: PostgresConnection) throws {
        guard !sites.isEmpty else { return }
        var array = PostgresBinaryArray(of: .text, capacity: sites.count * 16)
        for site in sites { array.append(site) }
        try connection.query("""
            WITH locked AS (
                SELECT site_id FROM site_versions WHERE site_id = ANY($1::text[]) ORDER BY site_id FOR UPDATE
            )
            UPDATE site_versions v SET version = v.version + 1 FROM locked WHERE v.site_id = locked.site_id
            """, binary: [array.finish()])
    }

    /// Runs `body` between BEGIN and COMMIT, rolling back when it throws.
    private static func transaction(on connection: PostgresConnection, _ body: () throws -> Void) throws {
        try connection.execute("BEGIN")
        do {
            try body()
            try connection.execute("COMMIT")
        } catch {
            if !connection.isBroken, (try? connection.execute("ROLLBACK")) == nil { connection.close() }
            throw error
        }
    }

    /// Every site with a row in `site_versions`, which each insert creates for its sites in its transaction.
    public func sites() async throws -> [String] {
        try await withConnection { try $0.query("SELECT site_id FROM site_versions ORDER BY site_id").rows.compactMap { $0[0] } }
    }

    /// Succeeds when the store can take this build's inserts: the server answers, the schema is at the
    /// version this build writes (the same check every insert makes), and the server is not a read-only
    /// standby. A failure here is the whole store's, which the worker waits out rather than blame a batch.
    public func ping() async throws {
        let rows = try await withConnection { try $0.query("SELECT schema_guard(\(Migrations.latest)), pg_is_in_recovery()").rows }
        if rows.first?[1] == "t" { throw StoreFailure.unavailable("the server is a read-only standby") }
    }

    /// The same answer computed the seed's way, by `COUNT(*)`, `COUNT(DISTINCT user_id)` and a `GROUP BY path`
    /// over the raw events. Tests check the store's answers against it; the benchmark times it.
    public func directStats(_ query: StatsQuery) async throws -> StatsResponse {
        var filters = ["site_id = $1"]
        var parameters: [String?] = [query.siteID, String(query.limit)]
        if let instants = query.instants {
            parameters += [Self.timestamp(instants.lowerBound), Self.timestamp(instants.upperBound)]
            filters.append("timestamp >= $3::timestamptz")
            filters.append("timestamp < $4::timestamptz")
        }
        if let eventType = query.eventType {
            parameters.append(eventType)
            filters.append("event_type = $\(parameters.count)")
        }
        let condition = filters.joined(separator: " AND ")
        let sql = """
            SELECT t.total, t.users, p.path, p.views
            FROM (SELECT count(*) AS total, count(DISTINCT user_id) AS users FROM events WHERE \(condition)) t
            LEFT JOIN LATERAL (
                SELECT path, count(*) AS views FROM events WHERE \(condition)
                GROUP BY path ORDER BY views DESC, path COLLATE "C" LIMIT $2
            ) p ON true
            ORDER BY p.views DESC, p.path COLLATE "C"
            """
        let bound = parameters
        let rows = try await withConnection { try $0.query(sql, bound).rows }
        return Self.response(query, rows)
    }

    // MARK: SQL

    /// An instant as PostgreSQL reads a `timestamptz`. A day in a zone ahead of UTC can start before
    /// 0001-01-01T00:00Z, whose year PostgreSQL refuses; no event is earlier (the contract's first
    /// instant), so that is where such a bound starts.
    static func timestamp(_ microseconds: Int64) -> String {
        RFC3339Formatter.utc(microseconds: max(microseconds, -62_135_596_800_000_000))
    }

    private static func response(_ query: StatsQuery, _ rows: [[String?]]) -> StatsResponse {
        let first = rows.first
        return StatsResponse(
            query: query,
            totalViews: first?[0].flatMap { Int($0) } ?? 0,
            uniqueUsers: first?[1].flatMap { Int($0) } ?? 0,
            topPaths: rows.compactMap { row in
                guard let path = row[2], let views = row[3].flatMap({ Int($0) }) else { return nil }
                return StatsResponse.PathViews(path: path, views: views)
            }
        )
    }

    /// An identifier, double-quoted.
    static func quoted(_ identifier: String) -> String {
        "\"" + identifier.replacing("\"", with: "\"\"") + "\""
    }
}

/// The store's `SiteIndexCache`, for the connection factory made before it.
private final class IndexesBox: Sendable {
    let cache = Mutex<SiteIndexCache?>(nil)
}
