import AnalyticsCore
import AnalyticsSpec

/// An `EventStore` that keeps a `SiteIndex` per site: idempotent by `event_id`, and answering every
/// reporting query from the indexes' aggregates. The conformance suites hold it to `InMemoryStore`,
/// which answers by scanning; the Postgres store keeps the same indexes, fed from the database.
public actor ReadModelStore: EventStore {
    /// Ids taken, by site (UTF-8 bytes), with the month of their event: erased events keep theirs.
    private var ids: [[UInt8]: [EventID: UTCMonth]] = [:]
    private var indexes: [String: SiteIndex] = [:]
    /// Set by `dropEvents`: older events are expired rather than stored.
    private var firstMonthKept: UTCMonth?
    /// Every site that ever had an event stored, as the Postgres store's `site_versions` keeps them.
    private var everStored: [String] = []

    public init() {}

    public func insert(_ batch: [Event]) async throws -> InsertResult {
        var fresh: [String: [Event]] = [:]
        var duplicates = 0
        var expired = 0
        for event in batch {
            if let first = firstMonthKept, event.timestamp < first.start {
                expired += 1
                continue
            }
            let site = Array(event.siteID.utf8)
            if ids[site] == nil { everStored.append(event.siteID) }
            if ids[site]?[event.id] == nil {
                ids[site, default: [:]][event.id] = UTCMonth(containing: event.timestamp)
                fresh[event.siteID, default: []].append(event)
            } else {
                duplicates += 1
            }
        }
        for (site, events) in fresh { indexes[site, default: SiteIndex()].apply(events) }
        return InsertResult(inserted: batch.count - duplicates - expired, duplicates: duplicates, expired: expired)
    }

    /// The site's index with `zone` prepared; an empty one for a site without events.
    private func index(_ site: String, _ zone: ReportingZone?) -> SiteIndex {
        var index = indexes.removeValue(forKey: site) ?? SiteIndex()
        index.prepare(zone ?? .utc)
        if index.eventCount > 0 { indexes[site] = index }
        return index
    }

    public func stats(_ query: StatsQuery) async throws -> StatsResponse {
        index(query.siteID, query.zone).stats(query)
    }

    public func timeseries(_ query: TimeseriesQuery) async throws -> TimeseriesResponse {
        index(query.siteID, query.zone).timeseries(query)
    }

    public func breakdown(_ query: BreakdownQuery) async throws -> BreakdownResponse {
        index(query.siteID, query.zone).breakdown(query)
    }

    public func sites() async throws -> [String] {
        SitesResponse(sites: everStored, token: nil).sites
    }

    public func erase(site: String, user: String) async throws -> Int {
        guard let key = indexes.keys.first(where: { $0.utf8.elementsEqual(site.utf8) }), let index = indexes[key] else { return 0 }
        let kept = index.keeping { _, userID in userID.map { !$0.utf8.elementsEqual(user.utf8) } ?? true }
        indexes[key] = kept.eventCount > 0 ? kept : nil
        return index.eventCount - kept.eventCount
    }

    public func dropEvents(before month: UTCMonth) async throws -> RetentionOutcome {
        firstMonthKept = month
        let cutoff = month.start
        var outcome = RetentionOutcome(events: 0, sites: [], months: [])
        var months: Set<UTCMonth> = []
        for (site, index) in indexes {
            let kept = index.keeping { timestamp, _ in
                if timestamp < cutoff { months.insert(UTCMonth(containing: timestamp)) }
                return timestamp >= cutoff
            }
            guard kept.eventCount < index.eventCount else { continue }
            outcome.events += index.eventCount - kept.eventCount
            outcome.sites.append(site)
            indexes[site] = kept.eventCount > 0 ? kept : nil
        }
        for site in ids.keys { ids[site] = ids[site]!.filter { $0.value >= month } }
        outcome.sites = SitesResponse(sites: outcome.sites, token: nil).sites
        outcome.months = months.sorted()
        return outcome
    }

    public func ping() async throws {}
}
