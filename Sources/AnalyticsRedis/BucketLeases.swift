import AnalyticsCore
import Synchronization

/// Tokens this process has taken from Redis's buckets ahead of need, so that most rate-limited enqueues
/// spend them here and go out as plain `XADD`s, and only one in many runs the buckets' script.
///
/// Exact in one direction: every event queued was paid for by a token drawn from Redis, so all processes
/// together never exceed a limit. Leases come only from the upper half of a bucket, so a client near its
/// limit is decided by Redis request by request. A process asks for a tenth of a bucket's burst at a time,
/// and only while it holds none of that bucket's tokens; requests that miss together may each be granted
/// one, up to the bucket's upper half. A lease is dropped `lifetime` after its last grant (its tokens are
/// lost rather than handed back): what a process holds for that long is what others may be refused early.
final class BucketLeases: Sendable {
    private struct Lease {
        var tokens: Int
        var expires: ContinuousClock.Instant
    }

    private struct State {
        var leases: [String: Lease] = [:]
        /// The size past which expired leases are swept: twice what the last sweep left, so that a sweep
        /// costs each lease added since a constant.
        var sweepAt = 10_000
    }

    private let state = Mutex(State())
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
        return state.withLock { state in
            // Each key hashed once: its index found, checked, then spent through.
            var found: [Dictionary<String, Lease>.Index] = []
            found.reserveCapacity(draws.count)
            for draw in draws {
                guard let index = state.leases.index(forKey: draw.key) else { return false }
                let lease = state.leases.values[index]
                guard lease.expires > now, lease.tokens >= draw.cost else { return false }
                found.append(index)
            }
            for (index, draw) in zip(found, draws) { state.leases.values[index].tokens -= draw.cost }
            return true
        }
    }

    /// The lease to ask for with each draw: none for a bucket this process still holds tokens of, so that
    /// leases do not pile up while some other bucket of the same requests sends them to Redis.
    func sizes(for draws: [BucketDraw]) -> [Int] {
        let now = ContinuousClock.now
        return state.withLock { state in
            draws.map { draw in
                if let lease = state.leases[draw.key], lease.expires > now, lease.tokens > 0 { return 0 }
                return Self.size(of: draw)
            }
        }
    }

    /// Keeps tokens Redis granted beyond the draws' costs.
    func add(_ grants: [(key: String, tokens: Int)]) {
        let now = ContinuousClock.now
        state.withLock { state in
            for (key, tokens) in grants where tokens > 0 {
                var lease = state.leases[key].flatMap { $0.expires > now ? $0 : nil } ?? Lease(tokens: 0, expires: now)
                lease.tokens += tokens
                lease.expires = now + lifetime
                state.leases[key] = lease
            }
            if state.leases.count > state.sweepAt {
                state.leases = state.leases.filter { $0.value.expires > now }
                state.sweepAt = max(10_000, state.leases.count * 2)
            }
        }
    }
}
