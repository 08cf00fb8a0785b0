/// The time source of the queue and the worker, injectable so that tests of delays,
/// visibility timeouts and backoff run instantly and deterministically.
public protocol WallClock: Sendable {
    /// Microseconds since 1970-01-01T00:00:00Z.
    var now: Int64 { get }
    /// Suspends for `duration`, or until the task is cancelled (then throws `CancellationError`).
    func sleep(for duration: Duration) async throws
}

extension WallClock {
    public var unixMilliseconds: UInt64 { UInt64(max(0, now / 1000)) }
}

extension Duration {
    /// Whole microseconds, rounded down.
    public var microseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000 + attoseconds / 1_000_000_000_000
    }
}

/// The system's real-time clock.
public struct SystemClock: WallClock {
    public init() {}

    public var now: Int64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1_000_000 + Int64(spec.tv_nsec) / 1000
    }

    public func sleep(for duration: Duration) async throws {
        try await Task.sleep(for: duration)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
