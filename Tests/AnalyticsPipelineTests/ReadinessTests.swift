import AnalyticsCore
@testable import AnalyticsHTTP
import AnalyticsSpec
import AnalyticsTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing

/// A store whose ping fails with a given message, or hangs until released, as a ping to a dead server
/// does on a pool thread: it does not heed cancellation.
private final class PingStub: EventStore {
    enum Behaviour { case answer, fail(String), hang }

    private struct State {
        var behaviour: Behaviour
        var pings = 0
        var hanging: [CheckedContinuation<Void, Never>] = []
    }

    private let state: Mutex<State>

    init(_ behaviour: Behaviour) { state = Mutex(State(behaviour: behaviour)) }

    var pings: Int { state.withLock { $0.pings } }

    /// Answers the hanging pings, and every later one.
    func release() {
        let hanging = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.behaviour = .answer
            defer { state.hanging = [] }
            return state.hanging
        }
        for ping in hanging { ping.resume() }
    }

    func insert(_ events: [Event]) async throws -> InsertResult { throw StoreFailure.unavailable("not a store") }

    func stats(_ query: StatsQuery) async throws -> StatsResponse { throw StoreFailure.unavailable("not a store") }
    func timeseries(_ query: TimeseriesQuery) async throws -> TimeseriesResponse { throw StoreFailure.unavailable("not a store") }
    func breakdown(_ query: BreakdownQuery) async throws -> BreakdownResponse { throw StoreFailure.unavailable("not a store") }

    func sites() async throws -> [String] { throw StoreFailure.unavailable("not a store") }
    func erase(site: String, user: String) async throws -> Int { throw StoreFailure.unavailable("not a store") }
    func dropEvents(before month: UTCMonth) async throws -> RetentionOutcome { throw StoreFailure.unavailable("not a store") }

    func ping() async throws {
        let behaviour = state.withLock { state -> Behaviour in
            state.pings += 1
            return state.behaviour
        }
        switch behaviour {
        case .answer: return
        case .fail(let message): throw StoreFailure.unavailable(message)
        case .hang:
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let hangs = state.withLock { state -> Bool in
                    guard case .hang = state.behaviour else { return false }
                    state.hanging.append(continuation)
                    return true
                }
                if !hangs { continuation.resume() }
            }
        }
    }
}

/// `/readyz`: which check failed, never the backend's own words, and an answer by its deadline whatever
/// the backend does.
@Suite struct ReadinessTests {
    @Test(arguments: setups)
    func aFailedCheckIsNamedButItsErrorOnlyLogged(_ setup: TestingSetup) async throws {
        let reason = #"connection to server at "db.internal" (10.1.2.3), port 5432 failed: password "hunter2" rejected"#
        let logs = LogCapture()
        try await Applications.reporting(store: PingStub(.fail(reason)), logger: logs.logger()).test(setup) { client in
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.text == #"{"status":"unavailable","checks":{"store":"unreachable"}}"#)
                #expect(!response.text.contains("hunter2") && !response.text.contains("db.internal"))
            }
        }
        let logged = logs.recorded.filter { $0.message == "readiness check failed" }
        #expect(logged.count == 1)
        #expect(logged.first?.level == .warning)
        #expect(logged.first?.metadata["check"] == "store")
        #expect(logged.first?.metadata["error"]?.contains("hunter2") == true)
    }

    @Test(arguments: setups)
    func answersByItsDeadlineWhileAPingHangsAndSendsNoOtherUntilItReturns(_ setup: TestingSetup) async throws {
        let store = PingStub(.hang)
        // Against a /readyz that waits for the ping, this lets it return, so that the test fails rather than hangs.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            store.release()
        }
        defer {
            watchdog.cancel()
            store.release()
        }
        let logs = LogCapture()
        try await Applications.reporting(store: store, logger: logs.logger()).test(setup) { client in
            let clock = ContinuousClock()
            let first = try await clock.measure {
                try await client.execute(uri: "/readyz", method: .get) { response in
                    #expect(response.status == .serviceUnavailable)
                    #expect(response.text == #"{"status":"unavailable","checks":{"store":"timeout"}}"#)
                }
            }
            // The deadline is 2 s; the margin is for a loaded machine, whose other suites can keep both
            // cooperative threads busy (a /readyz that waits for the ping answers only when the watchdog
            // releases it, at 60 s; a request of the bounded-work suite took 20 times its time in CI).
            #expect(first < .seconds(40), "the deadline is 2 s; took \(first)")
            // The ping is stuck past its deadline: a later check fails without a second ping (and at once,
            // which `aCheckRunPastItsDeadlineFailsLaterRequestsAtOnce` shows without racing a 2 s deadline).
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable) }
            #expect(store.pings == 1)
            // Once the ping returns, the next check is a new one, and it answers.
            store.release()
            var status = HTTPResponse.Status.serviceUnavailable
            for _ in 0..<100 where status != .ok {
                status = try await client.execute(uri: "/readyz", method: .get) { $0.status }
                if status != .ok { try await Task.sleep(for: .milliseconds(20)) }
            }
            #expect(status == .ok)
            #expect(store.pings == 2)
        }
        #expect(logs.recorded.contains { $0.level == .warning && $0.message == "readiness check did not answer in time" })
    }
    /// The probe alone, its clock moved by hand: a check that has run past its deadline is stuck, and a
    /// request then fails at once rather than wait for a deadline of its own; one within the deadline waits
    /// for the running check. No second check starts while the first runs.
    @Test(.timeLimit(.minutes(2))) func aCheckRunPastItsDeadlineFailsLaterRequestsAtOnce() async throws {
        let store = PingStub(.hang)
        let start = ContinuousClock.now
        // The time moved by hand, and how many requests have read it (each does once, as it comes).
        let clockState = Mutex((passed: Duration.zero, readings: 0))
        // A minute's deadline: a request that waited for one would take it, far beyond the bound below.
        let probe = ReadinessProbe(timeout: .seconds(60), now: {
            clockState.withLock { state in
                state.readings += 1
                return start + state.passed
            }
        }) { try await store.ping() }
        defer { store.release() }
        let first = Task { await probe.outcome() }
        while store.pings == 0 { try await Task.sleep(for: .milliseconds(5)) }

        clockState.withLock { $0.passed = .seconds(59) }
        let joining = Task { await probe.outcome() }
        while clockState.withLock({ $0.readings }) < 2 { try await Task.sleep(for: .milliseconds(5)) }
        clockState.withLock { $0.passed = .seconds(61) }
        let clock = ContinuousClock()
        let asked = clock.now
        let stuck = await probe.outcome()
        #expect(clock.now - asked < .seconds(30), "a stuck check answers at once")
        guard case .timedOut = stuck else { Issue.record("expected a timeout, got \(stuck)"); return }
        #expect(store.pings == 1)

        // The check returns within the first two requests' deadlines: both have its answer.
        store.release()
        guard case .ok = await first.value else { Issue.record("the first request did not get the check's answer"); return }
        guard case .ok = await joining.value else { Issue.record("the joining request did not get the check's answer"); return }
        #expect(store.pings == 1)
        guard case .ok = await probe.outcome() else { Issue.record("a new check did not answer"); return }
        #expect(store.pings == 2)
    }
}
