import AnalyticsCore
@testable import AnalyticsHTTP
import AnalyticsInMemory
import AnalyticsSpec
import Synchronization
import Testing

/// The system's wall clock, which the test can set back as an operator or NTP would.
private final class SettableWallClock: WallClock {
    private let offset = Mutex<Int64>(0)

    var now: Int64 { SystemClock().now + offset.withLock { $0 } }

    func setBack(by duration: Duration) { offset.withLock { $0 -= duration.microseconds } }

    func sleep(for duration: Duration) async throws { try await Task.sleep(for: duration) }
}

/// A monotonic clock that moves only when the test moves it.
private final class SteppedClock: MonotonicClock {
    private let value = Mutex(Duration.zero)

    var elapsed: Duration { value.withLock { $0 } }

    func advance(by duration: Duration) { value.withLock { $0 += duration } }
}

private func threeEvents() -> [Event] {
    var generator = SystemRandomNumberGenerator()
    return (0..<3).map { index in
        Event(
            id: EventID.version7(unixMilliseconds: 1_763_114_400_000 + UInt64(index), using: &generator),
            siteID: "demo", eventType: "view", path: "/", userID: nil, timestamp: 1_763_114_400_000_000)
    }
}

/// The queue depth that ingestion admits against is read again once its refresh interval has passed,
/// measured on a monotonic clock.
struct QueueAdmissionTests {
    @Test func theDepthIsReadAgainAfterTheIntervalEvenWhenTheWallClockIsSetBack() async throws {
        let queue = InMemoryQueue(clock: ManualClock())
        let wallClock = SettableWallClock()
        let admission = QueueAdmission(queue: queue, clock: wallClock, maximumDepth: 3, refreshInterval: .milliseconds(100))
        #expect(await admission.admits())
        try await queue.enqueue(threeEvents())
        wallClock.setBack(by: .seconds(3600))
        try await Task.sleep(for: .milliseconds(300))
        #expect(await admission.admits() == false)
    }

    @Test func theIntervalIsMeasuredOnTheInjectedMonotonicClock() async throws {
        let queue = InMemoryQueue(clock: ManualClock())
        let clock = SteppedClock()
        let admission = QueueAdmission(queue: queue, monotonicClock: clock, maximumDepth: 3, refreshInterval: .milliseconds(250))
        #expect(await admission.admits())
        try await queue.enqueue(threeEvents())
        clock.advance(by: .milliseconds(249))
        #expect(await admission.admits(), "the depth read 249 ms ago is still fresh")
        clock.advance(by: .milliseconds(1))
        #expect(await admission.admits() == false)
    }
}
