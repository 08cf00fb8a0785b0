import AnalyticsCore
import Synchronization

/// Decides whether ingestion may accept more events: not while the queue's backlog is above
/// `maximumDepth`. The depth is read at most once per `refreshInterval`, so requests do not each
/// pay for a round trip to the queue.
final class QueueAdmission: Sendable {
    private struct State {
        var backlog = 0
        var readAt: Int64?
        var reading = false
    }

    private let queue: any EventQueue
    private let clock: any WallClock
    private let maximumDepth: Int?
    private let refreshInterval: Duration
    private let state = Mutex(State())

    init(queue: any EventQueue, clock: any WallClock, maximumDepth: Int?, refreshInterval: Duration = .milliseconds(250)) {
        self.queue = queue
        self.clock = clock
        self.maximumDepth = maximumDepth
        self.refreshInterval = refreshInterval
    }

    /// False when the backlog is over the maximum.
    func admits() async -> Bool {
        guard let maximumDepth else { return true }
        let now = clock.now
        let (backlog, shouldRead) = state.withLock { state -> (Int, Bool) in
            let stale = state.readAt.map { now - $0 >= refreshInterval.microseconds } ?? true
            if stale, !state.reading {
                state.reading = true
                return (state.backlog, true)
            }
            return (state.backlog, false)
        }
        guard shouldRead else { return backlog < maximumDepth }
        let fresh = try? await queue.depth().backlog
        state.withLock { state in
            state.reading = false
            state.readAt = now
            if let fresh { state.backlog = fresh }
        }
        return (fresh ?? backlog) < maximumDepth
    }
}
