import AnalyticsCore
import AnalyticsSpec
import Synchronization

/// Wraps a store and fails on command: an outage, a number of failed inserts, events the store
/// rejects as data errors, or a pause after an insert commits (a worker that dies before it acks).
public final class FaultInjectingStore: EventStore {
    private struct State {
        var down = false
        var failuresLeft = 0
        var rejected: Set<EventID> = []
        var insertCalls = 0
        var pauseAfterCommit = false
        var gateClosed = false
        var gateWaiters: [CheckedContinuation<Void, Never>] = []
        var insertsStarted = 0
    }

    public let base: any EventStore
    private let state = Mutex(State())

    public init(_ base: any EventStore) { self.base = base }

    /// While down, every call fails as unavailable.
    public func setDown(_ down: Bool) { state.withLock { $0.down = down } }

    /// The next `count` inserts fail as unavailable.
    public func failNextInserts(_ count: Int) { state.withLock { $0.failuresLeft = count } }

    /// Any batch holding one of these events is rejected as a data error, as Postgres rejects a statement.
    public func reject(_ ids: some Sequence<EventID>) { state.withLock { $0.rejected.formUnion(ids) } }

    /// After the next successful insert commits, the call never returns (until its task is cancelled).
    public func pauseAfterNextCommit() { state.withLock { $0.pauseAfterCommit = true } }

    public var insertCalls: Int { state.withLock { $0.insertCalls } }

    /// Stops inserts from starting until `openGate()`.
    public func closeGate() { state.withLock { $0.gateClosed = true } }

    public func openGate() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.gateClosed = false
            defer { state.gateWaiters = [] }
            return state.gateWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Inserts that have begun, including those waiting at the gate.
    public var insertsStarted: Int { state.withLock { $0.insertsStarted } }

    /// Stops rejecting events.
    public func acceptEverything() { state.withLock { $0.rejected = [] } }

    public func insert(_ events: [Event]) async throws -> InsertResult {
        await withCheckedContinuation { continuation in
            let wait = state.withLock { state -> Bool in
                state.insertsStarted += 1
                if state.gateClosed { state.gateWaiters.append(continuation) }
                return state.gateClosed
            }
            if !wait { continuation.resume() }
        }
        let (down, fail, rejectedID) = state.withLock { state -> (Bool, Bool, EventID?) in
            state.insertCalls += 1
            let fail = state.failuresLeft > 0
            if fail { state.failuresLeft -= 1 }
            return (state.down, fail, events.first { state.rejected.contains($0.id) }?.id)
        }
        if down || fail { throw StoreFailure.unavailable("injected outage") }
        if let rejectedID { throw StoreFailure.rejected("injected data error for \(rejectedID)") }
        let result = try await base.insert(events)
        let pause = state.withLock { state -> Bool in
            defer { state.pauseAfterCommit = false }
            return state.pauseAfterCommit
        }
        if pause {
            while true { try await Task.sleep(for: .seconds(3600)) }
        }
        return result
    }

    public func stats(_ query: StatsQuery) async throws -> StatsResponse {
        if state.withLock({ $0.down }) { throw StoreFailure.unavailable("injected outage") }
        return try await base.stats(query)
    }

    public func timeseries(_ query: TimeseriesQuery) async throws -> TimeseriesResponse {
        if state.withLock({ $0.down }) { throw StoreFailure.unavailable("injected outage") }
        return try await base.timeseries(query)
    }

    public func breakdown(_ query: BreakdownQuery) async throws -> BreakdownResponse {
        if state.withLock({ $0.down }) { throw StoreFailure.unavailable("injected outage") }
        return try await base.breakdown(query)
    }

    public func sites() async throws -> [String] {
        if state.withLock({ $0.down }) { throw StoreFailure.unavailable("injected outage") }
        return try await base.sites()
    }

    public func erase(site: String, user: String) async throws -> Int {
        if state.withLock({ $0.down }) { throw StoreFailure.unavailable("injected outage") }
        return try await base.erase(site: site, user: user)
    }

    public func dropEvents(before month: UTCMonth) async throws -> RetentionOutcome {
        if state.withLock({ $0.down }) { throw StoreFailure.unavailable("injected outage") }
        return try await base.dropEvents(before: month)
    }

    public func ping() async throws {
        if state.withLock({ $0.down }) { throw StoreFailure.unavailable("injected outage") }
        try await base.ping()
    }
}
