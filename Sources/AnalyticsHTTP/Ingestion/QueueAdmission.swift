import AnalyticsCore
import Synchronization

/// Decides whether ingestion may accept more events: not while the queue's backlog is above
/// `maximumDepth`. The depth is read at most once per `refreshInterval`, so requests do not each
/// pay for a round trip to the queue.
///
/// The interval is measured on a monotonic clock: on the wall clock, a clock set back would keep a
/// reading fresh, and the queue's depth unread, for as long as it was set back.
final class QueueAdmission: Sendable {
    private struct State {
        var backlog = 0
        var readAt: Duration?
        var reading = false
    }

    private let queue: any EventQueue
    private let clock: any MonotonicClock
    private let maximumDepth: Int?
    private let refreshInterval: Duration
    private let state = Mutex(State())

    init(queue: any EventQueue, monotonicClock: any MonotonicClock, maximumDepth: Int?, refreshInterval: Duration = .milliseconds(250)) {
        self.queue = queue
        self.clock = monotonicClock
        self.maximumDepth = maximumDepth
        self.refreshInterval = refreshInterval
    }

    /// For a caller that has only the wall clock: a clock that is monotonic too (a test's `ManualClock`,
    /// which the test moves) measures the interval; any other, the system's monotonic clock.
    convenience init(queue: any EventQueue, clock: any WallClock, maximumDepth: Int?, refreshInterval: Duration = .milliseconds(250)) {
        let monotonic: any MonotonicClock = (clock as? any MonotonicClock) ?? SystemMonotonicClock()
        self.init(queue: queue, monotonicClock: monotonic, maximumDepth: maximumDepth, refreshInterval: refreshInterval)
    }

    /// False when the backlog is over the maximum.
    func admits() async -> Bool {
        guard let maximumDepth else { return true }
        let now = clock.elapsed
        let (backlog, shouldRead) = state.withLock { state -> (Int, Bool) in
            let stale = state.readAt.map { now - $0 >= refreshInterval } ?? true
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
