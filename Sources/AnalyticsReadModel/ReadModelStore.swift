import AnalyticsCore
import AnalyticsSpec

/// An `EventStore` that keeps a `SiteIndex` per site: idempotent by `event_id`, and answering every
/// reporting query from the indexes' aggregates. The conformance suites hold it to `InMemoryStore`,
/// which answers by scanning; the Postgres store keeps the same indexes, fed from the database.
public actor ReadModelStore: EventStore {
    private var ids: Set<EventID> = []
    private var indexes: [String: SiteIndex] = [:]

    public init() {}

    public func insert(_ batch: [Event]) async throws -> InsertResult {
        var fresh: [String: [Event]] = [:]
        var duplicates = 0
        for event in batch {
            if ids.insert(event.id).inserted { fresh[event.siteID, default: []].append(event) } else { duplicates += 1 }
        }
        for (site, events) in fresh { indexes[site, default: SiteIndex()].apply(events) }
        return InsertResult(inserted: batch.count - duplicates, duplicates: duplicates)
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
        SitesResponse(sites: indexes.keys, token: nil).sites
    }

    public func ping() async throws {}
}
