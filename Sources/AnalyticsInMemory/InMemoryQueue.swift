import AnalyticsCore
import AnalyticsSpec
import DequeModule

/// An `EventQueue` in memory, with the semantics of the Redis one: pending deliveries, redelivery
/// after the visibility timeout, delayed retries with attempt counts, delivery counts, dead letters and
/// replay. It is a first-class test double, and what `analytics serve --in-memory` runs on.
///
/// As in Redis, a delivery is pending by its ID alone: `retry` and `deadLetter` act on a pending
/// delivery whichever consumer holds it now, and on nothing else.
public actor InMemoryQueue: EventQueue {
    private struct Entry {
        var id: DeliveryID
        var event: Event
        var attempt: Int
        var lastError: String?
        /// Times handed out: none while ready or delayed, 1 once reserved, one more per reclaim.
        var deliveries = 0

        var delivery: Delivery {
            Delivery(id: id, event: event, attempt: attempt, lastError: lastError, deliveries: deliveries)
        }
    }

    private struct Pending {
        var entry: Entry
        var consumer: String
        var touchedAt: Int64
    }

    public nonisolated let visibilityTimeout: Duration
    private let clock: any WallClock
    private var ready = Deque<Entry>()
    private var pending: [DeliveryID: Pending] = [:]
    private var pendingOrder: [DeliveryID] = []
    private var delayed: [(dueAt: Int64, entry: Entry)] = []
    private var dead: [DeadLetter] = []
    private var sequence = 0
    private var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    /// Token buckets by key: tokens held, when (seconds on `clock`), and when they are full again.
    private var buckets: [String: (tokens: Double, at: Double, fullAt: Double)] = [:]
    /// The size past which full buckets are swept: twice what the last sweep left.
    private var sweepBucketsAt = 10_000

    public init(clock: any WallClock = SystemClock(), visibilityTimeout: Duration = .seconds(30)) {
        self.clock = clock
        self.visibilityTimeout = visibilityTimeout
    }

    private func nextID() -> DeliveryID {
        sequence += 1
        return "\(clock.now / 1000)-\(sequence)"
    }

    public func enqueue(_ events: [Event]) async throws {
        for event in events { ready.append(Entry(id: nextID(), event: event, attempt: 1)) }
        wakeWaiters()
    }

    public func enqueue(_ events: [Event], drawing draws: [BucketDraw]) async throws -> BucketVerdict {
        let now = Double(clock.now) / 1_000_000
        var held: [Double] = []
        for (index, draw) in draws.enumerated() {
            let state = buckets[draw.key]
            let tokens = TokenBucketRule.tokens(state?.tokens, at: state?.at, now: now, limit: draw.limit)
            let wait = TokenBucketRule.wait(tokens: tokens, cost: draw.cost, limit: draw.limit)
            if wait > 0 { return .refused(index: index, retryAfter: .microseconds(Int64((wait * 1_000_000).rounded(.up)))) }
            held.append(tokens)
        }
        for (draw, tokens) in zip(draws, held) {
            let left = tokens - Double(draw.cost)
            buckets[draw.key] = (left, now, now + (Double(draw.limit.burst) - left) / draw.limit.perSecond)
        }
        // Full buckets are forgotten, as Redis lets their keys expire.
        if buckets.count > sweepBucketsAt {
            buckets = buckets.filter { $0.value.fullAt > now }
            sweepBucketsAt = max(10_000, buckets.count * 2)
        }
        try await enqueue(events)
        return .queued
    }

    public func reserve(consumer: String, max: Int, wait: Duration) async throws -> [Delivery] {
        let deadline = clock.now + wait.microseconds
        while true {
            promoteDueRetries()
            if !ready.isEmpty {
                var taken: [Delivery] = []
                while taken.count < max, var entry = ready.popFirst() {
                    entry.deliveries += 1
                    pending[entry.id] = Pending(entry: entry, consumer: consumer, touchedAt: clock.now)
                    pendingOrder.append(entry.id)
                    taken.append(entry.delivery)
                }
                return taken
            }
            let now = clock.now
            if now >= deadline || Task.isCancelled { return [] }
            let wakeAt = min(deadline, delayed.map(\.dueAt).min() ?? deadline)
            await waitForWork(for: .microseconds(Swift.max(0, wakeAt - now)))
        }
    }

    /// Returns when work may have arrived, or after `duration`, whichever is first.
    private func waitForWork(for duration: Duration) async {
        sequence += 1
        let id = sequence
        let clock = self.clock
        // Isolated to this actor, so it cannot run before the waiter below is registered.
        let timer = Task {
            try? await clock.sleep(for: duration)
            self.wake(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { waiters[id] = $0 }
        } onCancel: {
            Task { await self.wake(id) }
        }
        timer.cancel()
    }

    private func wake(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume()
    }

    private func wakeWaiters() {
        let all = waiters.values
        waiters.removeAll()
        for waiter in all { waiter.resume() }
    }

    private func promoteDueRetries() {
        let now = clock.now
        guard delayed.contains(where: { $0.dueAt <= now }) else { return }
        let due = delayed.filter { $0.dueAt <= now }.sorted { $0.dueAt < $1.dueAt }
        delayed.removeAll { $0.dueAt <= now }
        // A new ID when due, as Redis adds the entry to the stream then: its age counts from there.
        for item in due {
            var entry = item.entry
            entry.id = nextID()
            ready.append(entry)
        }
    }

    private func removePending(_ id: DeliveryID) -> Pending? {
        guard let removed = pending.removeValue(forKey: id) else { return nil }
        pendingOrder.removeAll { $0 == id }
        return removed
    }

    public func ack(_ ids: [DeliveryID]) async throws {
        for id in ids { _ = removePending(id) }
    }

    public func touch(_ ids: [DeliveryID], consumer: String) async throws {
        let now = clock.now
        for id in ids where pending[id]?.consumer == consumer { pending[id]?.touchedAt = now }
    }

    @discardableResult
    public func retry(_ delivery: Delivery, after delay: Duration, reason: String) async throws -> Bool {
        guard let old = removePending(delivery.id)?.entry else { return false }
        // A new entry, as Redis adds one to the stream when the retry is due: its deliveries count afresh
        // (its ID is given when it is due).
        let entry = Entry(id: old.id, event: old.event, attempt: old.attempt + 1, lastError: reason)
        delayed.append((clock.now + delay.microseconds, entry))
        wakeWaiters()
        return true
    }

    @discardableResult
    public func deadLetter(_ delivery: Delivery, reason: String) async throws -> Bool {
        guard let entry = removePending(delivery.id)?.entry else { return false }
        dead.append(DeadLetter(id: nextID(), event: entry.event, attempts: entry.attempt, reason: reason, failedAt: clock.now))
        return true
    }

    public func reclaim(consumer: String, max: Int) async throws -> [Delivery] {
        let now = clock.now
        let limit = visibilityTimeout.microseconds
        var claimed: [Delivery] = []
        for id in pendingOrder where claimed.count < max {
            guard var item = pending[id], now - item.touchedAt >= limit else { continue }
            item.consumer = consumer
            item.touchedAt = now
            item.entry.deliveries += 1
            pending[id] = item
            claimed.append(item.entry.delivery)
        }
        return claimed
    }

    public func depth() async throws -> QueueDepth {
        QueueDepth(ready: ready.count, pending: pending.count, delayed: delayed.count, dead: dead.count)
    }

    /// From the entries' IDs, which carry the millisecond they were queued at, as Redis's do.
    public func ages() async throws -> QueueAges {
        let now = clock.now / 1000
        func age(_ id: DeliveryID) -> Duration? {
            guard let queued = id.split(separator: "-").first.flatMap({ Int64($0) }) else { return nil }
            return .milliseconds(max(0, now - queued))
        }
        let pendingAges = pending.keys.compactMap(age)
        return QueueAges(oldestReady: ready.first.flatMap { age($0.id) }, oldestPending: pendingAges.max())
    }

    public func deadLetters(limit: Int) async throws -> [DeadLetter] {
        Array(dead.prefix(limit))
    }

    public func replayDeadLetters(ids: [String]?) async throws -> Int {
        let chosen = dead.filter { ids?.contains($0.id) ?? true }
        dead.removeAll { letter in chosen.contains { $0.id == letter.id } }
        // Every dead letter here holds an event: this queue only ever holds events.
        for letter in chosen {
            if let event = letter.event { ready.append(Entry(id: nextID(), event: event, attempt: 1)) }
        }
        wakeWaiters()
        return chosen.count
    }

    public func purgeDeadLetters(ids: [String]?) async throws -> Int {
        let before = dead.count
        dead.removeAll { ids?.contains($0.id) ?? true }
        return before - dead.count
    }

    public func ping() async throws {}
}
