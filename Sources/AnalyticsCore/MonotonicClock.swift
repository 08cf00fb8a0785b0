/// A time source for measuring durations. Unlike `WallClock.now`, it never jumps when the system's time
/// is set (NTP stepping it, an operator, a virtual machine resumed), so an interval measured on it is the
/// time that passed; injectable so that tests move it by hand.
public protocol MonotonicClock: Sendable {
    /// Time since an arbitrary origin; only the difference between two readings means anything.
    var elapsed: Duration { get }
}

/// The system's monotonic clock.
public struct SystemMonotonicClock: MonotonicClock {
    /// Readings count from here, so that they are durations, which are simpler to store and compare.
    private static let origin = ContinuousClock.now

    public init() {}

    public var elapsed: Duration { ContinuousClock.now - Self.origin }
}

/// A test's clock moves only forward, when the test moves it, so it measures durations as well.
extension ManualClock: MonotonicClock {
    public var elapsed: Duration { .microseconds(now) }
}
