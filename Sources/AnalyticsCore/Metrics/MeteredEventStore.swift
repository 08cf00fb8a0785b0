import AnalyticsSpec
import Metrics

/// An `EventStore` that times every call and counts its failures by class, around any other store:
/// the worker's inserts and reporting's queries are measured alike, whichever store runs.
///
/// - `analytics_store_duration_seconds{operation}`: insert, stats, timeseries, breakdown, sites (the
///   reporting endpoints' queries are the last four: `GET /stats` runs `stats`, and so on).
/// - `analytics_store_errors_total{operation, class}`: `unavailable` (retried), `rejected` (the data),
///   `other` (anything else thrown). `ping` is left out: readiness reports it.
public struct MeteredEventStore: EventStore {
    public let base: any EventStore
    private let timers: [Operation: Timer]
    private let errors: [Operation: [ErrorClass: Counter]]

    enum Operation: String, CaseIterable { case insert, stats, timeseries, breakdown, sites }
    enum ErrorClass: String, CaseIterable { case unavailable, rejected, other }

    public init(_ base: any EventStore, factory: any MetricsFactory = MetricsSystem.factory) {
        self.base = base
        var timers: [Operation: Timer] = [:]
        var errors: [Operation: [ErrorClass: Counter]] = [:]
        for operation in Operation.allCases {
            timers[operation] = Timer(
                label: "analytics_store_duration_seconds", dimensions: [("operation", operation.rawValue)], factory: factory)
            for errorClass in ErrorClass.allCases {
                errors[operation, default: [:]][errorClass] = Counter(
                    label: "analytics_store_errors_total", dimensions: [("operation", operation.rawValue), ("class", errorClass.rawValue)],
                    factory: factory)
            }
        }
        self.timers = timers
        self.errors = errors
    }

    private func measure<T>(_ operation: Operation, _ body: () async throws -> T) async throws -> T {
        let clock = ContinuousClock()
        let start = clock.now
        do {
            let result = try await body()
            timers[operation]?.record(duration: start.duration(to: clock.now))
            return result
        } catch {
            timers[operation]?.record(duration: start.duration(to: clock.now))
            let errorClass: ErrorClass = switch error as? StoreFailure {
            case .unavailable: .unavailable
            case .rejected: .rejected
            case nil: .other
            }
            errors[operation]?[errorClass]?.increment()
            throw error
        }
    }

    public func insert(_ events: [Event]) async throws -> InsertResult { try await measure(.insert) { try await base.insert(events) } }
    public func stats(_ query: StatsQuery) async throws -> StatsResponse { try await measure(.stats) { try await base.stats(query) } }
    public func timeseries(_ query: TimeseriesQuery) async throws -> TimeseriesResponse {
        try await measure(.timeseries) { try await base.timeseries(query) }
    }
    public func breakdown(_ query: BreakdownQuery) async throws -> BreakdownResponse {
        try await measure(.breakdown) { try await base.breakdown(query) }
    }
    public func sites() async throws -> [String] { try await measure(.sites) { try await base.sites() } }
    public func erase(site: String, user: String) async throws -> Int { try await base.erase(site: site, user: user) }
    public func dropEvents(before month: UTCMonth) async throws -> RetentionOutcome { try await base.dropEvents(before: month) }
    public func ping() async throws { try await base.ping() }
}
