import AnalyticsCore
import AnalyticsSpec
import AnalyticsTestSupport
import Testing

/// Rate-limited enqueues (`enqueue(_:drawing:)`), the same on every `EventQueue`: the in-memory queue on
/// its manual clock, Redis on its own (`TIME`), so waits there are checked within what the test's own
/// calls may take.
@Suite(.removesServerLeftovers) struct RateLimitConformanceTests {
    private func draw(_ key: String, _ limit: RateLimit, cost: Int = 1) -> BucketDraw {
        BucketDraw(key: key, policy: "site", limit: limit, cost: cost)
    }

    private func retryAfter(_ verdict: BucketVerdict) -> Duration? {
        if case .refused(_, let wait) = verdict { wait } else { nil }
    }

    @Test(arguments: QueueBackend.all)
    func aBucketPaysForItsEventsAndRefusesOnceEmpty(_ backend: QueueBackend) async throws {
        let subject = try await backend.make(.seconds(30))
        let queue = subject.queue
        // Slow enough that what the test's own calls take (seconds, on a loaded machine: the suites run in
        // parallel on two cores) cannot refill it.
        let limit = RateLimit(perSecond: 0.01, burst: 5)
        #expect(try await queue.enqueue(makeEvents(3), drawing: [draw("a", limit, cost: 3)]) == .queued)
        let refused = try await queue.enqueue(makeEvents(3), drawing: [draw("a", limit, cost: 3)])
        // Two tokens left, three needed, at one in 100 seconds: 100 s, less what the calls themselves took.
        let wait = try #require(retryAfter(refused))
        #expect(wait <= .seconds(100) && wait > .seconds(50), "\(wait)")
        #expect(try await queue.depth().ready == 3, "a refused enqueue adds nothing")
    }

    @Test(arguments: QueueBackend.all)
    func aBucketRefillsAtItsRate(_ backend: QueueBackend) async throws {
        let subject = try await backend.make(.seconds(30))
        let queue = subject.queue
        let limit = RateLimit(perSecond: 2, burst: 1)
        #expect(try await queue.enqueue(makeEvents(1), drawing: [draw("refill", limit)]) == .queued)
        try await subject.pass(.milliseconds(600))
        #expect(try await queue.enqueue(makeEvents(1), drawing: [draw("refill", limit)]) == .queued)
        #expect(try await queue.depth().ready == 2)
    }

    @Test(arguments: QueueBackend.all)
    func aDrawLargerThanTheBurstNeedsAFullBucketAndLeavesItOwing(_ backend: QueueBackend) async throws {
        let subject = try await backend.make(.seconds(30))
        let queue = subject.queue
        let limit = RateLimit(perSecond: 0.01, burst: 5)
        #expect(try await queue.enqueue(makeEvents(8), drawing: [draw("big", limit, cost: 8)]) == .queued)
        // Minus three: one token is 400 s away.
        let wait = try #require(retryAfter(try await queue.enqueue(makeEvents(1), drawing: [draw("big", limit)])))
        #expect(wait <= .seconds(400) && wait > .seconds(350), "\(wait)")
        #expect(try await queue.depth().ready == 8)
    }

    @Test(arguments: QueueBackend.all)
    func everyBucketMustAllowAndARefusalTakesNothing(_ backend: QueueBackend) async throws {
        let subject = try await backend.make(.seconds(30))
        let queue = subject.queue
        let slow = RateLimit(perSecond: 0.01, burst: 2)
        #expect(try await queue.enqueue(makeEvents(2), drawing: [draw("empty", slow, cost: 2)]) == .queued)
        let verdict = try await queue.enqueue(makeEvents(2), drawing: [draw("full", slow, cost: 2), draw("empty", slow, cost: 1)])
        guard case .refused(let index, _) = verdict else { Issue.record("expected a refusal, got \(verdict)"); return }
        #expect(index == 1)
        // The first bucket was not drawn from: it still holds both tokens.
        #expect(try await queue.enqueue(makeEvents(2), drawing: [draw("full", slow, cost: 2)]) == .queued)
        #expect(try await queue.depth().ready == 4)
        // Buckets are separate by key: another is full.
        #expect(try await queue.enqueue(makeEvents(1), drawing: [draw("other", slow)]) == .queued)
    }

    /// Concurrent draws on one bucket (as from several ingestion processes) never take more than its
    /// tokens. A queue may lease tokens ahead of need (Redis's, a tenth of the burst at most, see
    /// `BucketLeases`), which can leave that many unspent when the draws stop.
    @Test(arguments: QueueBackend.all)
    func concurrentDrawsShareOneBucketExactly(_ backend: QueueBackend) async throws {
        let queue = try await backend.make(.seconds(30)).queue
        let limit = RateLimit(perSecond: 0.001, burst: 25)
        let verdicts = try await withThrowingTaskGroup(of: BucketVerdict.self) { group in
            for _ in 0..<100 { group.addTask { try await queue.enqueue(makeEvents(1), drawing: [draw("shared", limit)]) } }
            return try await group.reduce(into: [BucketVerdict]()) { $0.append($1) }
        }
        let queued = verdicts.filter { $0 == .queued }.count
        #expect(queued <= 25 && queued >= 25 - 25 / 10, "\(queued)")
        #expect(try await queue.depth().ready == queued)
    }
}
