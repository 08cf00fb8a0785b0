import AnalyticsSpec

/// What an insert did.
public struct InsertResult: Sendable, Hashable {
    /// Events stored by this call.
    public var inserted: Int
    /// Events whose `event_id` was already stored, and so were skipped.
    public var duplicates: Int
    /// Events older than the first month retention keeps (`dropEvents`), and so not stored: what retention
    /// would drop at once.
    public var expired: Int

    public init(inserted: Int, duplicates: Int, expired: Int = 0) {
        self.inserted = inserted
        self.duplicates = duplicates
        self.expired = expired
    }
}

/// A store failure, classified so the worker knows what to do.
public enum StoreFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The store could not be reached or could not finish (connection lost, server down, deadlock,
    /// serialization failure). Nothing was stored; the same call may succeed later.
    case unavailable(String)
    /// The store refused the data itself (a data error). Retrying the same batch will fail again;
    /// inserting its events one by one finds the ones at fault.
    case rejected(String)

    public var description: String {
        switch self {
        case .unavailable(let reason): "store unavailable: \(reason)"
        case .rejected(let reason): "store rejected the data: \(reason)"
        }
    }
}

/// Where events are kept, and what answers `GET /stats`.
public protocol EventStore: Sendable {
    /// Stores events in one transaction, skipping any whose `event_id` is already stored for its site
    /// (including repeats within `events`), whatever its other fields: a resend whose timestamp was
    /// corrected differently is still the same event. Throws `StoreFailure`.
    func insert(_ events: [Event]) async throws -> InsertResult

    /// Answers a stats query. Throws `StoreFailure`.
    func stats(_ query: StatsQuery) async throws -> StatsResponse

    /// Views and distinct users per bucket of the query, every bucket present. Throws `StoreFailure`.
    func timeseries(_ query: TimeseriesQuery) async throws -> TimeseriesResponse

    /// One page of views and distinct users per path or event type. Throws `StoreFailure`.
    func breakdown(_ query: BreakdownQuery) async throws -> BreakdownResponse

    /// Every site the store ever stored an event for (one whose events were all erased or dropped stays),
    /// sorted by UTF-8 bytes: what `GET /sites` lists when reporting runs without access control. Throws
    /// `StoreFailure`.
    func sites() async throws -> [String]

    /// Deletes every event of `user` on `site` (byte for byte), so that every answer is as if they had
    /// never been sent, and returns how many there were. Their ids stay taken: a resend of an erased
    /// event (an SDK's retry) stays erased; events sent afterwards are new ones. Running it again deletes
    /// nothing. Throws `StoreFailure`.
    func erase(site: String, user: String) async throws -> Int

    /// Deletes every event before `month` (whole months, UTC) with their ids, so that every answer is as
    /// if they had never been sent. Running it again deletes nothing. Throws `StoreFailure`.
    func dropEvents(before month: UTCMonth) async throws -> RetentionOutcome

    /// Succeeds when the store answers.
    func ping() async throws
}
