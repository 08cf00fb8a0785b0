import AnalyticsBlockingIO
import AnalyticsCore
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A connection with nothing behind it; its calls block for as long as the test's body does.
private final class IdleConnection: BlockingConnection {
    var isBroken: Bool { false }
    func close() {}
}

/// Waiting for a connection, offline: a caller cancelled in line leaves it at once.
struct BlockingConnectionPoolTests {
    @Test func aCallerCancelledWhileWaitingForAConnectionThrowsAtOnceAndTakesNone() async throws {
        let pool = BlockingConnectionPool(size: 1) { IdleConnection() }
        let holding = OnceFlag()
        let release = OnceFlag()
        // Holds the only connection, as a call to a dead server holds its thread, until released.
        let holder = Task {
            try await pool.withConnection { _ in
                holding.set()
                while !release.isSet { usleep(1_000) }
            }
        }
        // Against a pool whose line ignores cancellation, this lets the waiter through, so that the test
        // fails rather than hangs.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(60))
            release.set()
        }
        while !holding.isSet { try await Task.sleep(for: .milliseconds(5)) }
        let waiter = Task { try await pool.withConnection { _ in "took a connection" } }
        try await Task.sleep(for: .milliseconds(50))
        let clock = ContinuousClock()
        let cancelledAt = clock.now
        waiter.cancel()
        let result = await waiter.result
        // At once, but on a loaded machine (the suites run in parallel on two cores) "at once" may take
        // seconds: the bound is far below the 60 s a waiter that ignores cancellation would take.
        #expect(clock.now - cancelledAt < .seconds(30))
        #expect(throws: CancellationError.self) { try result.get() }
        #expect(!release.isSet, "the holder still has the connection")
        release.set()
        watchdog.cancel()
        try await holder.value
        // The connection went back to the pool, not to the caller that left.
        #expect(try await pool.withConnection { _ in 1 } == 1)
        await pool.shutdown()
    }
}
