/// Exponential backoff with full jitter, capped: the delay before attempt `n` (from 1) is a random
/// duration between zero and `min(cap, base × 2^(n-1))`.
public struct Backoff: Sendable, Hashable {
    public var base: Duration
    public var cap: Duration

    public init(base: Duration, cap: Duration) {
        self.base = base
        self.cap = cap
    }

    /// The ceiling for attempt `attempt`, before jitter.
    public func ceiling(attempt: Int) -> Duration {
        let exponent = min(max(attempt - 1, 0), 40)
        let grown = base.microseconds.multipliedReportingOverflow(by: Int64(1) << exponent)
        let capped = grown.overflow ? cap.microseconds : min(grown.partialValue, cap.microseconds)
        return .microseconds(capped)
    }

    public func delay(attempt: Int, using generator: inout some RandomNumberGenerator) -> Duration {
        let ceiling = ceiling(attempt: attempt).microseconds
        guard ceiling > 0 else { return .zero }
        return .microseconds(Int64.random(in: 0...ceiling, using: &generator))
    }
}
