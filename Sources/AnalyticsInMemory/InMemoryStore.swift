import AnalyticsCore
import AnalyticsSpec

/// An `EventStore` in memory: idempotent by `event_id` within a site, and answering stats by scanning
/// its events. It is the reference the other stores' answers are checked against.
public actor InMemoryStore: EventStore {
    private var events: [Event] = []
    /// Every id taken, by site (UTF-8 bytes) and id, with the month of its event: erased events keep
    /// theirs, until retention drops the month.
    private var ids: [EventKey: UTCMonth] = [:]
    /// Set by `dropEvents`: older events are expired rather than stored.
    private var firstMonthKept: UTCMonth?
    /// Every site that ever had an event stored, as the Postgres store's `site_versions` keeps them.
    private var siteList: [String] = []
    private var siteBytes: Set<[UInt8]> = []

    public init() {}

    public func insert(_ batch: [Event]) async throws -> InsertResult {
        var result = InsertResult(inserted: 0, duplicates: 0)
        for event in batch {
            if let first = firstMonthKept, event.timestamp < first.start {
                result.expired += 1
                continue
            }
            let key = EventKey(event)
            if siteBytes.insert(key.site).inserted { siteList.append(event.siteID) }
            if ids[key] == nil {
                ids[key] = UTCMonth(containing: event.timestamp)
                events.append(event)
                result.inserted += 1
            } else {
                result.duplicates += 1
            }
        }
        return result
    }

    // Text is keyed by UTF-8 bytes throughout: Swift's String equality is canonical equivalence
    // ("é" == "e\u{301}"), while the real store, like any database, tells them apart.

    /// The events of a site, of one type if given, within the instants if given.
    private func matching(site: String, eventType: String?, instants: Range<Int64>?) -> some Sequence<Event> {
        events.lazy.filter { event in
            event.siteID.utf8.elementsEqual(site.utf8)
                && (eventType.map { event.eventType.utf8.elementsEqual($0.utf8) } ?? true)
                && (instants?.contains(event.timestamp) ?? true)
        }
    }

    public func stats(_ query: StatsQuery) async throws -> StatsResponse {
        var total = 0
        var users: Set<[UInt8]> = []
        var paths: [[UInt8]: (path: String, views: Int)] = [:]
        for event in matching(site: query.siteID, eventType: query.eventType, instants: query.instants) {
            total += 1
            if let user = event.userID { users.insert(Array(user.utf8)) }
            paths[Array(event.path.utf8), default: (event.path, 0)].views += 1
        }
        return StatsResponse(
            query: query,
            totalViews: total,
            uniqueUsers: users.count,
            topPaths: StatsResponse.topPaths(paths.values, limit: query.limit)
        )
    }

    public func timeseries(_ query: TimeseriesQuery) async throws -> TimeseriesResponse {
        var views = [Int](repeating: 0, count: query.bucketStarts.count)
        var users = [Set<[UInt8]>](repeating: [], count: query.bucketStarts.count)
        for event in matching(site: query.siteID, eventType: query.eventType, instants: query.instants) {
            guard let bucket = query.bucket(of: event.timestamp) else { continue }
            views[bucket] += 1
            if let user = event.userID { users[bucket].insert(Array(user.utf8)) }
        }
        return TimeseriesResponse(
            query: query, points: zip(views, users).map { TimeseriesResponse.Point(views: $0, uniqueUsers: $1.count) })
    }

    public func breakdown(_ query: BreakdownQuery) async throws -> BreakdownResponse {
        var rows: [[UInt8]: (value: String, views: Int, users: Set<[UInt8]>)] = [:]
        for event in matching(site: query.siteID, eventType: query.eventType, instants: query.instants) {
            let value = query.value(of: event)
            rows[Array(value.utf8), default: (value, 0, [])].views += 1
            if let user = event.userID { rows[Array(value.utf8)]!.users.insert(Array(user.utf8)) }
        }
        return BreakdownResponse.page(query, of: rows.values.map {
            BreakdownResponse.Row(value: $0.value, views: $0.views, uniqueUsers: $0.users.count)
        })
    }

    public func sites() async throws -> [String] {
        SitesResponse(sites: siteList, token: nil).sites
    }

    public func erase(site: String, user: String) async throws -> Int {
        let before = events.count
        events.removeAll { $0.siteID.utf8.elementsEqual(site.utf8) && $0.userID.map { $0.utf8.elementsEqual(user.utf8) } == true }
        return before - events.count
    }

    public func dropEvents(before month: UTCMonth) async throws -> RetentionOutcome {
        firstMonthKept = month
        let cutoff = month.start
        let dropped = events.filter { $0.timestamp < cutoff }
        events.removeAll { $0.timestamp < cutoff }
        ids = ids.filter { $0.value >= month }
        return RetentionOutcome(
            events: dropped.count, sites: SitesResponse(sites: dropped.lazy.map(\.siteID), token: nil).sites,
            months: Array(Set(dropped.map { UTCMonth(containing: $0.timestamp) })).sorted())
    }

    public func ping() async throws {}

    /// Every stored event, in insertion order.
    public var storedEvents: [Event] { events }
}

/// An event's identity: its site's UTF-8 bytes and its id (ids are unique within a site).
struct EventKey: Hashable {
    let site: [UInt8]
    let id: EventID

    init(_ event: Event) {
        site = Array(event.siteID.utf8)
        id = event.id
    }
}
