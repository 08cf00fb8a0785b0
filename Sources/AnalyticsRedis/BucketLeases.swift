import AnalyticsCore
import Synchronization

/// Tokens this process has taken from Redis's buckets ahead of need, so that most rate-limited enqueues
/// spend them here and go out as plain `XADD`s, and only one in many runs the buckets' script.
///
/// Exact in one direction: every event queued was paid for by a token drawn from Redis, so all processes
/// together never exceed a limit. Leases come only from the upper half of a bucket, so a client near its
/// limit is decided by Redis request by request. A lease unused for `lifetime` is dropped (its tokens are
/// lost rather than handed back): a process holds at most a tenth of a bucket's burst for at most that
/// long, which is what others may be refused early.
final class BucketLeases: Sendable {
    private struct Lease {
        var tokens: Int
        var expires: ContinuousClock.Instant
    }

    private let leases = Mutex<[String: Lease]>([:])
    let lifetime: Duration

    init(lifetime: Duration = .seconds(5)) {
        self.lifetime = lifetime
    }

    /// The tokens to ask for beyond a draw's cost: a tenth of its burst.
    static func size(of draw: BucketDraw) -> Int { draw.cost >= draw.limit.burst ? 0 : draw.limit.burst / 10 }

    /// Spends every draw from its lease when all of them are covered, and returns true; otherwise spends
    /// nothing.
    func spend(_ draws: [BucketDraw]) -> Bool {
        let now = ContinuousClock.now
        return leases.withLock { leases in
            for draw in draws {
                guard let lease = leases[draw.key], lease.expires > now, lease.tokens >= draw.cost else { return false }
            }
            for draw in draws { leases[draw.key]!.tokens -= draw.cost }
            return true
        }
    }

    /// Keeps tokens Redis granted beyond the draws' costs.
    func add(_ grants: [(key: String, tokens: Int)]) {
        let now = ContinuousClock.now
        leases.withLock { leases in
            for (key, tokens) in grants where tokens > 0 {
                var lease = leases[key].flatMap { $0.expires > now ? $0 : nil } ?? Lease(tokens: 0, expires: now)
                lease.tokens += tokens
                lease.expires = now + lifetime
                leases[key] = lease
            }
            if leases.count > 10_000 { leases = leases.filter { $0.value.expires > now } }
        }
    }
}
