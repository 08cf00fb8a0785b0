import Synchronization

/// One backend's readiness check, run at most once at a time and waited for no longer than `timeout`.
///
/// The backends' clients block a pool thread for each call and do not heed cancellation, so a check stuck
/// on a dead server cannot be stopped, only left behind: it runs in a task of its own, which a request
/// waits on until its deadline and then answers without. Requests that come while a check runs wait on
/// that one rather than start another; once it has run past the deadline it is stuck, and they fail at
/// once until it returns. So a dead backend holds one connection, not one per probe, and nothing piles up
/// behind it.
final class ReadinessProbe: Sendable {
    enum Outcome: Sendable {
        case ok
        case failed(any Error)
        case timedOut
    }

    private struct Running {
        let generation: Int
        let startedAt: ContinuousClock.Instant
        /// Requests waiting for this check, by number.
        var waiters: [Int: CheckedContinuation<Outcome?, Never>] = [:]
    }

    private struct State {
        var running: Running?
        /// The last check's outcome, for a request that comes to wait on a check just after it finished.
        var lastOutcome: Outcome?
        var generations = 0
        var waiters = 0
    }

    private enum Registration {
        case waiting
        case answered(Outcome?)
    }

    let timeout: Duration
    private let check: @Sendable () async throws -> Void
    /// When a check started and how long it has run: a test moves it to make a check stuck without waiting.
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state = Mutex(State())

    init(
        timeout: Duration, now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now },
        check: @escaping @Sendable () async throws -> Void
    ) {
        self.timeout = timeout
        self.now = now
        self.check = check
    }

    /// The outcome of the check this call starts, or of the one already running; `timedOut` when it has
    /// not answered within `timeout`, or had already run longer than that.
    func outcome() async -> Outcome {
        let now = self.now()
        let timeout = self.timeout
        enum Start { case join(Int), start(Int), stuck }
        let start = state.withLock { state -> Start in
            if let running = state.running {
                return now - running.startedAt < timeout ? .join(running.generation) : .stuck
            }
            state.generations += 1
            state.running = Running(generation: state.generations, startedAt: now)
            return .start(state.generations)
        }
        let generation: Int
        switch start {
        case .stuck:
            return .timedOut
        case .join(let running):
            generation = running
        case .start(let new):
            generation = new
            let check = self.check
            Task { [self] in
                let outcome: Outcome
                do {
                    try await check()
                    outcome = .ok
                } catch {
                    outcome = .failed(error)
                }
                self.finish(outcome)
            }
        }
        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { await self.wait(for: generation) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : .timedOut
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? .timedOut
        }
    }

    /// Waits for check `generation` to finish; nil when the waiting task is cancelled first, which takes it
    /// off the check's list, so the group above ends at its deadline whatever the check does.
    private func wait(for generation: Int) async -> Outcome? {
        let id = state.withLock { state in
            state.waiters += 1
            return state.waiters
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome?, Never>) in
                let registration = state.withLock { state -> Registration in
                    if Task.isCancelled { return .answered(nil) }
                    guard state.running?.generation == generation else { return .answered(state.lastOutcome) }
                    state.running?.waiters[id] = continuation
                    return .waiting
                }
                if case .answered(let outcome) = registration { continuation.resume(returning: outcome) }
            }
        } onCancel: {
            let waiter = state.withLock { $0.running?.waiters.removeValue(forKey: id) }
            waiter?.resume(returning: nil)
        }
    }

    private func finish(_ outcome: Outcome) {
        let waiters = state.withLock { state -> [CheckedContinuation<Outcome?, Never>] in
            defer { state.running = nil }
            state.lastOutcome = outcome
            return state.running.map { Array($0.waiters.values) } ?? []
        }
        for waiter in waiters { waiter.resume(returning: outcome) }
    }
}
