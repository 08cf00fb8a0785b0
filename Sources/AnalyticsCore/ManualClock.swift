import Synchronization

/// A clock that moves only when told to, for tests.
///
/// With `autoAdvance`, `sleep(for:)` moves the clock forward by the duration and returns at once,
/// so a worker's backoff or a queue's delay passes instantly. Without it, a sleeper waits until
/// `advance(by:)` carries the clock past its deadline.
public final class ManualClock: WallClock {
    private struct State {
        var now: Int64
        var sleepers: [(id: Int, deadline: Int64, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextID = 0
    }

    private let state: Mutex<State>
    public let autoAdvance: Bool

    /// - Parameter now: microseconds since the Unix epoch to start at.
    public init(now: Int64 = 1_763_114_400_000_000, autoAdvance: Bool = false) {
        state = Mutex(State(now: now))
        self.autoAdvance = autoAdvance
    }

    public var now: Int64 { state.withLock { $0.now } }

    /// Moves the clock forward and wakes every sleeper whose deadline has passed.
    public func advance(by duration: Duration) {
        let due = state.withLock { state -> [CheckedContinuation<Void, any Error>] in
            state.now += duration.microseconds
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }.map(\.continuation)
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for continuation in due { continuation.resume() }
    }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        if autoAdvance {
            advance(by: duration)
            await Task.yield()
            return
        }
        let id = state.withLock { state -> Int in
            state.nextID += 1
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                enum Outcome { case wait, due, cancelled }
                let outcome = state.withLock { state -> Outcome in
                    if Task.isCancelled { return .cancelled }
                    let deadline = state.now + duration.microseconds
                    if deadline <= state.now { return .due }
                    state.sleepers.append((id, deadline, continuation))
                    return .wait
                }
                switch outcome {
                case .wait: break
                case .due: continuation.resume()
                case .cancelled: continuation.resume(throwing: CancellationError())
                }
            }
        } onCancel: {
            let cancelled = state.withLock { state -> CheckedContinuation<Void, any Error>? in
                guard let index = state.sleepers.firstIndex(where: { $0.id == id }) else { return nil }
                return state.sleepers.remove(at: index).continuation
            }
            cancelled?.resume(throwing: CancellationError())
        }
    }

    /// How many tasks are sleeping on this clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }
}
