import AnalyticsCore
import AnalyticsSpec

/// An `EventStore` in memory: idempotent by `event_id`, and answering stats by scanning its events.
/// It is the reference the Postgres store's rollups are checked against.
public actor InMemoryStore: EventStore {
    private var events: [Event] = []
    private var ids: Set<EventID> = []

    public init() {}

    public func insert(_ batch: [Event]) async throws -> InsertResult {
        var result = InsertResult(inserted: 0, duplicates: 0)
        for event in batch {
            if ids.insert(event.id).inserted {
                events.append(event)
                result.inserted += 1
            } else {
                result.duplicates += 1
            }
        }
        return result
    }

    public func stats(_ query: StatsQuery) async throws -> StatsResponse {
        // Keyed by UTF-8 bytes: Swift's String equality is canonical equivalence ("é" == "e\u{301}"),
        // while the real store, like any database, tells them apart.
        var total = 0
        var users: Set<[UInt8]> = []
        var paths: [[UInt8]: (path: String, views: Int)] = [:]
        for event in events where query.matches(event) {
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

    public func ping() async throws {}

    /// Every stored event, in insertion order.
    public var storedEvents: [Event] { events }
}
