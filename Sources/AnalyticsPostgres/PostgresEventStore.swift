import AnalyticsBlockingIO
import AnalyticsCore
import AnalyticsReadModel
import AnalyticsSpec
import Synchronization

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
/// `insert` is one transaction: a binary `COPY` of the events, or, for a small batch or when an event is
/// already stored, an `INSERT` of them with `ON CONFLICT (event_id) DO NOTHING`, and in both the change log
/// of the events actually inserted under their sites' next versions, so a redelivered event is never
/// counted twice.
/// The reporting queries are answered from a `SiteIndex` per site kept in this process and brought up to
/// date from that log (`SiteIndexCache`); `directStats` answers the seed's way, from `events`.
/// Every query is parameterized.
public final class PostgresEventStore: EventStore {
    private let pool: BlockingConnectionPool<PostgresConnection>
    private let indexes: SiteIndexCache
    private let changeRetention: Duration
    private let smallestCopy: Int
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
        // Sorted by event_id, the first version of a duplicate first: concurrent inserts take the key locks
        // in one order, and a batch's first version of an event is the one kept.
        let order = events.indices.sorted { (events[$0].id, $0) < (events[$1].id, $1) }
        let sorted = order.map { events[$0] }
        let smallestCopy = self.smallestCopy
        let inserted = try await withConnection { connection in
            // A small batch (a quiet moment: the worker took what had just arrived) goes in one round trip;
            // the copy's four would cost it more time than its rows do, and its events would wait for them.
            if sorted.count >= smallestCopy {
                do {
                    try Self.copyNew(sorted, on: connection)
                    return events.count
                } catch let error as PostgresError where error.sqlState == Self.uniqueViolation {
                    // An event stored already: the batch goes through insertSQL.
                }
            }
            let row = try connection.query(Self.insertSQL, binary: Self.arrays(of: sorted)).rows.first
            return row?[0].flatMap { Int($0) } ?? 0
        }
        pruneChangesNowAndThen()
        return InsertResult(inserted: inserted, duplicates: events.count - inserted)
    }

    /// Stores a batch none of whose events is stored yet, the usual case, in one transaction: ids from the
    /// sequence, the rows by binary `COPY` (which skips the look-up `ON CONFLICT` makes before each row and
    /// writes a page of rows at a time), then the sites' versions and the change log (`logChangesSQL`). An
    /// event already stored, or twice in the batch, fails the copy with a unique violation, the transaction
    /// is rolled back, and the caller goes through `insertSQL` instead.
    ///
    /// `events` is locked before the version check, as an `INSERT` locks it before it runs: a migration
    /// holds that table until it commits, so a batch that waited for one fails the check instead of writing
    /// rows in the old schema's form.
    static func copyNew(_ events: [Event], on connection: PostgresConnection) throws {
        do {
            let assigned = try connection.execute("""
                BEGIN; LOCK TABLE events IN ROW EXCLUSIVE MODE; SELECT schema_guard(\(Migrations.latest));
                SELECT nextval('events_id_seq') FROM generate_series(1, \(events.count))
                """).rows.compactMap { $0[0].flatMap { Int64($0) } }
            guard assigned.count == events.count else {
                throw PostgresError(sqlState: nil, message: "the id sequence gave \(assigned.count) ids for \(events.count) events", connectionLost: false)
            }
            var rows = PostgresBinaryCopy(capacity: events.count * 120)
            var ids = PostgresBinaryArray(of: .int8, capacity: events.count * 12)
            var sites = PostgresBinaryArray(of: .text, capacity: events.count * 16)
            for (event, id) in zip(events, assigned) {
                rows.beginRow(fields: 7)
                rows.append(id)
                rows.append(event.id)
                rows.append(event.siteID)
                rows.append(event.eventType)
                rows.append(event.path)
                rows.append(event.userID)
                rows.append(microsecondsSinceUnixEpoch: event.timestamp)
                ids.append(id)
                sites.append(event.siteID)
            }
            try connection.copyIn(Self.copySQL, data: rows.finish())
            try connection.query(Self.logChangesSQL, binary: [ids.finish(), sites.finish()])
            try connection.execute("COMMIT")
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

    /// After `copySQL`, in its transaction: each site of the batch gets its next version, in site order,
    /// and the ids of its events (`$1`, with their sites in `$2`) are logged under it. The site's row is
    /// locked from there to the commit, so a later insert gets the next version only once this one is
    /// visible: versions follow commit order.
    static let logChangesSQL = """
        WITH site_versions_bumped AS (
            INSERT INTO site_versions AS v (site_id, version)
            SELECT DISTINCT site_id COLLATE "C", 1 FROM unnest($2::text[]) AS s(site_id) ORDER BY 1
            ON CONFLICT (site_id) DO UPDATE SET version = v.version + 1
            RETURNING site_id, version
        )
        INSERT INTO site_changes (site_id, version, ids)
        SELECT b.site_id, b.version, array_agg(e.id)
        FROM site_versions_bumped b JOIN unnest($1::bigint[], $2::text[]) AS e(id, site_id) ON e.site_id COLLATE "C" = b.site_id
        GROUP BY b.site_id, b.version
        """

    /// A batch under `smallestCopy`, or one whose copy met an event already stored: the events go in with
    /// `ON CONFLICT (event_id) DO NOTHING`, and only the rows the insert returned are logged, so a skipped
    /// event, or a skipped second version of one, counts for nothing. The versions and the log, in common table
    /// expressions that run after the insert, are `logChangesSQL`'s for the rows it returned.
    static let insertSQL = """
        WITH guard AS (
            SELECT schema_guard(\(Migrations.latest))
        ), inserted AS (
            INSERT INTO events (event_id, site_id, event_type, path, user_id, timestamp)
            SELECT e.* FROM guard, unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[]) AS e
            ON CONFLICT (event_id) DO NOTHING
            RETURNING id, site_id COLLATE "C" AS site_id
        ), site_versions_bumped AS (
            INSERT INTO site_versions AS v (site_id, version)
            SELECT DISTINCT site_id, 1 FROM inserted ORDER BY 1
            ON CONFLICT (site_id) DO UPDATE SET version = v.version + 1
            RETURNING site_id, version
        ), changes_logged AS (
            INSERT INTO site_changes (site_id, version, ids)
            SELECT b.site_id, b.version, array_agg(i.id)
            FROM site_versions_bumped b JOIN inserted i ON i.site_id = b.site_id
            GROUP BY b.site_id, b.version
        )
        SELECT count(*) FROM inserted
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
