/// A token bucket's settings: it refills at `perSecond` events a second up to `burst`.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    public var perSecond: Double
    public var burst: Int

    public init(perSecond: Double, burst: Int) {
        self.perSecond = perSecond
        self.burst = burst
    }

    /// `RATE/BURST` (`100/1000`), or `RATE` alone for a burst of ten seconds' worth; nil when it is
    /// neither, or outside what the buckets can keep: a rate of 0.001 to 1,000,000,000 events a second, a
    /// burst of 1 to 1,000,000,000 that refills within a day.
    public init?(_ text: some StringProtocol) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let rate = Double(parts[0]), rate.isFinite, rate >= 0.001, rate <= 1e9 else { return nil }
        let burst = parts.count == 2 ? Int(parts[1]) : Int((rate * 10).rounded(.up))
        guard let burst, burst >= 1, burst <= 1_000_000_000, Double(burst) / rate <= 86_400 else { return nil }
        self.init(perSecond: rate, burst: burst)
    }

    public var description: String {
        let rate = perSecond.rounded() == perSecond ? String(Int(perSecond)) : String(perSecond)
        return "\(rate)/\(burst)"
    }

    /// Seconds an empty bucket takes to fill: the window of the `RateLimit-Policy` header.
    public var window: Int { max(1, Int((Double(burst) / perSecond).rounded(.up))) }
}

/// What one enqueue draws from one bucket.
public struct BucketDraw: Sendable, Hashable {
    /// Names the bucket within the queue (`site:demo`, `address:192.0.2.1`).
    public let key: String
    /// The policy it belongs to, as the `RateLimit` headers name it: `site` or `address`.
    public let policy: String
    public let limit: RateLimit
    /// Events the enqueue adds under this bucket.
    public let cost: Int

    public init(key: String, policy: String, limit: RateLimit, cost: Int) {
        self.key = key
        self.policy = policy
        self.limit = limit
        self.cost = cost
    }
}

/// What became of an enqueue drawn from buckets.
public enum BucketVerdict: Sendable, Hashable {
    /// The events are durably queued and every bucket paid for them.
    case queued
    /// Nothing was queued: the bucket at `index` of the draws lacks tokens for `retryAfter` more.
    case refused(index: Int, retryAfter: Duration)
}

/// The token-bucket rule both queues apply, so that they agree to the token: a bucket refills
/// continuously at its rate up to its burst; a draw is allowed when the bucket holds its cost, or its
/// whole burst when the cost is larger (a batch bigger than the burst passes only into a full bucket, and
/// the bucket then owes the rest: the long-run rate stays the limit's); an allowed draw takes its full
/// cost, and the bucket may go below zero. An absent bucket is full.
public enum TokenBucketRule {
    /// The tokens a bucket holds at `now` (seconds), given what it held at `then`.
    public static func tokens(_ held: Double?, at then: Double?, now: Double, limit: RateLimit) -> Double {
        guard let held, let then else { return Double(limit.burst) }
        return min(Double(limit.burst), held + max(0, now - then) * limit.perSecond)
    }

    /// Seconds until `tokens` reach what a draw of `cost` needs; zero when they already do.
    public static func wait(tokens: Double, cost: Int, limit: RateLimit) -> Double {
        let needed = Double(min(cost, limit.burst))
        return tokens >= needed ? 0 : (needed - tokens) / limit.perSecond
    }
}
