import AnalyticsBlockingIO
import AnalyticsCore
import AnalyticsReadModel
import AnalyticsSpec
import NIOPosix
import Synchronization

/// The `SiteIndex` of each site this process reports on, kept current from the database.
///
/// A query first reads the site's version (`site_versions`, one row). An index at that version answers
/// at once. One behind catches up from `site_changes`, the events each insert logged under the version it
/// took; one whose changes have been pruned (or that is far behind), or no index yet, is loaded from
/// `events` in a snapshot that also reads the version, so every stored event is in the index exactly once.
///
/// The database work runs on a pool connection's thread; building a zone's aggregates and answering run
/// on NIO's shared thread pool, never on the cooperative pool and never holding a connection. One refresh
/// per site runs at a time; queries meanwhile wait for it, then compute on their own copy of the index,
/// which later changes do not touch. Memory is bounded: a site keeps the zones used most recently (at
/// most `SiteIndex.maximumZones`), and the least recently used sites are dropped when the indexes hold
/// more than `maximumEvents` events, each zone counting as its events again (the site in use stays,
/// however large). When the server behind the connections changes (a restart, a failover, a restore),
/// every index is dropped: the new server's history may differ.
final class SiteIndexCache: Sendable {
    private struct Entry {
        var index: SiteIndex
        var version: Int64
        var lastUse: UInt64
        var zoneUses: [String: UInt64] = [:]

        var cost: Int { index.eventCount * (1 + index.preparedZones.count) }
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var refreshing: [String: Task<Void, any Error>] = [:]
        var uses: UInt64 = 0
        var counts = Counts()
        /// The server's start time last seen on a new connection, and how many times it changed.
        var server: String?
        var epoch = 0
    }

    /// How the indexes were brought up to date, for metrics and tests.
    struct Counts: Sendable, Hashable {
        /// Sites loaded from `events`.
        var loads = 0
        /// Catch-ups from `site_changes`.
        var catchUps = 0
    }

    /// A catch-up longer than this many versions loads the site instead: reading one large log would
    /// cost more than the site.
    static let longestCatchUp: Int64 = 2_000

    private let state = Mutex(State())
    private let pool: BlockingConnectionPool<PostgresConnection>
    let maximumEvents: Int

    init(pool: BlockingConnectionPool<PostgresConnection>, maximumEvents: Int) {
        self.pool = pool
        self.maximumEvents = maximumEvents
    }

    var counts: Counts { state.withLock { $0.counts } }

    /// Called for each new connection with the server's start time: a different server, or the same one
    /// restarted, drops every index.
    func connected(toServerStartedAt started: String) {
        state.withLock { state in
            if let known = state.server, known != started {
                state.entries = [:]
                state.epoch += 1
            }
            state.server = started
        }
    }

    /// Runs `body` on NIO's shared thread pool: the work of answering, off the cooperative pool.
    static func compute<T: Sendable>(_ body: @escaping @Sendable () -> T) async throws -> T {
        try await NIOThreadPool.singleton.runIfActive(body)
    }

    /// The site's index, current as of this call, with `zone` prepared. Throws `PostgresError`.
    func index(site: String, zone: ReportingZone) async throws -> SiteIndex {
        let version = try await withConnection { connection in
            try connection.query("SELECT version FROM site_versions WHERE site_id = $1", [site]).rows.first?[0].flatMap { Int64($0) } ?? 0
        }
        if version == 0 {
            // No event of this site was ever stored: nothing to keep, and no entry for every name asked.
            return try await Self.compute {
                var empty = SiteIndex()
                empty.prepare(zone)
                return empty
            }
        }
        while true {
            let (ready, running) = state.withLock { state -> (SiteIndex?, Task<Void, any Error>?) in
                state.uses += 1
                if let entry = state.entries[site], entry.version >= version, entry.index.isPrepared(zone) {
                    state.entries[site]!.lastUse = state.uses
                    state.entries[site]!.zoneUses[zone.name] = state.uses
                    return (entry.index, nil)
                }
                if let task = state.refreshing[site] { return (nil, task) }
                let (current, epoch) = (state.entries[site], state.epoch)
                let task = Task {
                    do {
                        try await self.refresh(site: site, from: current, to: version, zone: zone, epoch: epoch)
                    } catch {
                        self.state.withLock { $0.refreshing[site] = nil }
                        throw error
                    }
                }
                state.refreshing[site] = task
                return (nil, task)
            }
            if let ready { return ready }
            // Each pass answers, or waits for a refresh that brings the entry to this version or later, or
            // prepares another zone; a refresh's error ends the loop.
            try await running!.value
        }
    }

    /// Brings the site's entry to `version` or later with `zone` prepared.
    private func refresh(site: String, from current: Entry?, to version: Int64, zone: ReportingZone, epoch: Int) async throws {
        var (index, reached, loaded): (SiteIndex, Int64, Bool)
        if let current, current.version >= version {
            (index, reached, loaded) = (current.index, current.version, false)
        } else {
            (index, reached, loaded) = try await withConnection { connection -> (SiteIndex, Int64, Bool) in
                if var current, version - current.version <= Self.longestCatchUp,
                    let caughtUp = try Self.catchUp(&current.index, site: site, from: current.version, to: version, on: connection)
                {
                    return (current.index, caughtUp, false)
                }
                let (index, loaded) = try Self.load(site: site, on: connection)
                return (index, loaded, true)
            }
        }
        // Room for the zone: the one used least recently goes.
        if !index.isPrepared(zone), index.preparedZones.count >= SiteIndex.maximumZones {
            let uses = current?.zoneUses ?? [:]
            if let coldest = index.preparedZones.min(by: { uses[$0, default: 0] < uses[$1, default: 0] }) {
                index.removeZone(named: coldest)
            }
        }
        let prepared = index
        index = try await Self.compute {
            var index = prepared
            index.prepare(zone)
            return index
        }
        state.withLock { state in
            state.refreshing[site] = nil
            // An index read from a server this process no longer talks to is not kept.
            guard state.epoch == epoch else { return }
            state.uses += 1
            if loaded { state.counts.loads += 1 } else if reached > (current?.version ?? reached) { state.counts.catchUps += 1 }
            // A refresh never takes an entry back to an older version than one already there.
            if let existing = state.entries[site], existing.version > reached, existing.index.isPrepared(zone) {
                state.entries[site]!.lastUse = state.uses
                return
            }
            var entry = Entry(index: index, version: reached, lastUse: state.uses, zoneUses: current?.zoneUses ?? [:])
            entry.zoneUses = entry.zoneUses.filter { index.isPrepared(ReportingZone(named: $0.key) ?? .utc) }
            entry.zoneUses[zone.name] = state.uses
            state.entries[site] = entry
            var total = state.entries.values.reduce(0) { $0 + $1.cost }
            while total > maximumEvents, state.entries.count > 1 {
                var oldest: (key: String, value: Entry)?
                for candidate in state.entries where candidate.key != site && candidate.value.lastUse < (oldest?.value.lastUse ?? .max) {
                    oldest = candidate
                }
                guard let oldest else { break }
                total -= oldest.value.cost
                state.entries[oldest.key] = nil
            }
        }
    }

    /// Runs `body` on a pooled connection, once more on a fresh one when the first turns out dead (the
    /// server restarted since it was opened): everything here only reads, so running it again is safe.
    private func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        do {
            return try await pool.withConnection(body)
        } catch let error as PostgresError where error.connectionLost {
            return try await pool.withConnection(body)
        }
    }

    /// Applies the changes logged after `version` up to `target`; nil when some are gone (pruned), so
    /// the site must be loaded again.
    private static func catchUp(_ index: inout SiteIndex, site: String, from version: Int64, to target: Int64, on connection: PostgresConnection) throws -> Int64? {
        let rows = try connection.query("""
            SELECT c.version::text, (extract(epoch FROM e.timestamp) * 1000000)::int8::text, e.event_type, e.path, e.user_id
            FROM site_changes c CROSS JOIN LATERAL unnest(c.ids, c.timestamps) AS u(id, ts)
            JOIN events e ON e.site_id = c.site_id AND e.timestamp = u.ts AND e.id = u.id
            WHERE c.site_id = $1 AND c.version > $2 AND c.version <= $3
            ORDER BY c.version
            """, [site, String(version), String(target)]).rows
        var versions = Set<Int64>()
        for row in rows { if let number = row[0].flatMap({ Int64($0) }) { versions.insert(number) } }
        guard versions.count == target - version else { return nil }
        var copy = index
        for row in rows {
            guard let timestamp = row[1].flatMap({ Int64($0) }), let eventType = row[2], let path = row[3] else { return nil }
            copy.add(timestamp: timestamp, eventType: eventType, path: path, userID: row[4])
        }
        copy.freeze()
        index = copy
        return target
    }

    /// The site's events and version, read in one snapshot, a page at a time through a cursor.
    private static func load(site: String, on connection: PostgresConnection) throws -> (SiteIndex, Int64) {
        try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        do {
            let version = try connection.query("SELECT version FROM site_versions WHERE site_id = $1", [site]).rows.first?[0].flatMap { Int64($0) } ?? 0
            // DECLARE takes no parameters: the site goes in as a literal, its quotes doubled (the contract
            // allows none in a site_id anyway).
            try connection.execute("""
                DECLARE site_events NO SCROLL CURSOR FOR
                SELECT (extract(epoch FROM timestamp) * 1000000)::int8::text, event_type, path, user_id FROM events
                WHERE site_id = '\(site.replacing("'", with: "''"))'
                """)
            var index = SiteIndex()
            while true {
                let rows = try connection.execute("FETCH 50000 FROM site_events").rows
                for row in rows {
                    guard let timestamp = row[0].flatMap({ Int64($0) }), let eventType = row[1], let path = row[2] else { continue }
                    index.add(timestamp: timestamp, eventType: eventType, path: path, userID: row[3])
                }
                if rows.count < 50000 { break }
            }
            index.freeze()
            try connection.execute("COMMIT")
            return (index, version)
        } catch {
            try? connection.execute("ROLLBACK")
            throw error
        }
    }
}
