import AnalyticsCore
import AnalyticsRedis
import AnalyticsSpec
import AnalyticsTestSupport
import Testing

/// The behaviour every `EventQueue` must have. Runs against the in-memory queue always, and against
/// Redis when ANALYTICS_INTEGRATION=1.
@Suite(.removesServerLeftovers) struct QueueConformanceTests {
    @Test(arguments: QueueBackend.all)
    func deliversInOrderAndEachEventOnce(_ backend: QueueBackend) async throws {
        let queue = try await backend.make(.seconds(30)).queue
        let events = makeEvents(5)
        try await queue.enqueue(events)
        let first = try await queue.reserve(consumer: "a", max: 3, wait: .zero)
        let second = try await queue.reserve(consumer: "b", max: 10, wait: .zero)
        #expect(first.map(\.event) == Array(events[0..<3]))
        #expect(second.map(\.event) == Array(events[3...]))
        #expect((first + second).allSatisfy { $0.attempt == 1 && $0.lastError == nil })
        #expect(Set((first + second).map(\.id)).count == 5)
        #expect(try await queue.reserve(consumer: "c", max: 10, wait: .zero).isEmpty)
        #expect(try await queue.depth() == QueueDepth(ready: 0, pending: 5, delayed: 0, dead: 0))
    }

    @Test(arguments: QueueBackend.all)
    func acknowledgedDeliveriesAreGoneForGood(_ backend: QueueBackend) async throws {
        let subject = try await backend.make(.seconds(3))
        let queue = subject.queue
        try await queue.enqueue(makeEvents(3))
        let deliveries = try await queue.reserve(consumer: "a", max: 10, wait: .zero)
        try await queue.ack(deliveries.map(\.id))
        try await queue.ack(deliveries.map(\.id))
        try await queue.ack(["0-1"])
        try await subject.pass(.seconds(2))
        #expect(try await queue.reclaim(consumer: "b", max: 10).isEmpty)
        #expect(try await queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 0))
    }

    /// Ages count from when each event was queued: the first ready one waits on, a reserved one keeps its
    /// age while pending, and an empty queue has neither.
    @Test(arguments: QueueBackend.all)
    func agesCountFromWhenTheOldestEventsWereQueued(_ backend: QueueBackend) async throws {
        // Real time for Redis: the gap is 10 s wide, so that a loaded machine's delays between the calls
        // (seconds, at worst, under the full suite on two cores) cannot blur it.
        let subject = try await backend.make(.seconds(60))
        let queue = subject.queue
        #expect(try await queue.ages() == QueueAges(oldestReady: nil, oldestPending: nil))
        try await queue.enqueue(makeEvents(2))
        try await subject.pass(.seconds(10))
        try await queue.enqueue(makeEvents(1))
        let waiting = try await queue.ages()
        #expect(waiting.oldestPending == nil)
        #expect(waiting.oldestReady.map { $0 >= .milliseconds(9950) && $0 < .seconds(60) } == true, "\(waiting)")
        let first = try await queue.reserve(consumer: "a", max: 1, wait: .zero)
        try await subject.pass(.milliseconds(300))
        let reserved = try await queue.ages()
        #expect(reserved.oldestPending.map { $0 >= .milliseconds(10_250) && $0 < .seconds(60) } == true, "\(reserved)")
        #expect(reserved.oldestReady.map { $0 >= .milliseconds(10_250) } == true, "the second event, queued with the first: \(reserved)")
        let rest = try await queue.reserve(consumer: "a", max: 10, wait: .zero)
        let drained = try await queue.ages()
        #expect(drained.oldestReady == nil, "\(drained)")
        #expect(drained.oldestPending.map { $0 >= .milliseconds(10_250) } == true, "\(drained)")
        try await queue.ack(first.map(\.id))
        let second = try await queue.ages()
        #expect(second.oldestPending.map { $0 >= .milliseconds(10_250) } == true, "the second, queued with the first: \(second)")
        try await queue.ack([rest[0].id])
        let third = try await queue.ages()
        #expect(third.oldestPending.map { $0 >= .milliseconds(300) && $0 < .milliseconds(9950) } == true, "the third alone: \(third)")
        try await queue.ack(rest.map(\.id))
        #expect(try await queue.ages() == QueueAges(oldestReady: nil, oldestPending: nil))
    }

    @Test(arguments: QueueBackend.all)
    func reserveWaitsForWorkThatArrives(_ backend: QueueBackend) async throws {
        let queue = try await backend.make(.seconds(30)).queue
        let event = makeEvents(1)[0]
        async let reserved = queue.reserve(consumer: "a", max: 10, wait: .seconds(5))
        try await Task.sleep(for: .milliseconds(100))
        try await queue.enqueue([event])
        #expect(try await reserved.map(\.event) == [event])
    }

    @Test(arguments: QueueBackend.all)
    func unacknowledgedDeliveriesAreReclaimedAfterTheVisibilityTimeout(_ backend: QueueBackend) async throws {
        // The calls that expect nothing reclaimable come within the timeout of the lease they look at: 10 s,
        // far above a loaded machine's delays between two calls.
        let subject = try await backend.make(.seconds(10))
        let queue = subject.queue
        let events = makeEvents(4)
        try await queue.enqueue(events)
        let taken = try await queue.reserve(consumer: "crashed", max: 4, wait: .zero)
        #expect(try await queue.reclaim(consumer: "rescuer", max: 10).isEmpty)
        try await subject.pass(.milliseconds(10_500))
        let reclaimed = try await queue.reclaim(consumer: "rescuer", max: 10)
        #expect(Set(reclaimed.map(\.event.id)) == Set(events.map(\.id)))
        #expect(Set(reclaimed.map(\.id)) == Set(taken.map(\.id)))
        // Reclaimed deliveries belong to the rescuer now: not reclaimable again until it stalls too.
        #expect(try await queue.reclaim(consumer: "other", max: 10).isEmpty)
        try await queue.ack(reclaimed.map(\.id))
        #expect(try await queue.depth().backlog == 0)
    }

    @Test(arguments: QueueBackend.all)
    func touchKeepsADeliveryFromBeingReclaimed(_ backend: QueueBackend) async throws {
        // 6 s between the calls and a 10 s timeout: the lease would have run out by the first reclaim without
        // the touch, and the touch leaves 4 s for a loaded machine's delays.
        let subject = try await backend.make(.seconds(10))
        let queue = subject.queue
        try await queue.enqueue(makeEvents(2))
        let taken = try await queue.reserve(consumer: "slow", max: 2, wait: .zero)
        try await subject.pass(.seconds(6))
        try await queue.touch(taken.map(\.id), consumer: "slow")
        try await subject.pass(.seconds(6))
        #expect(try await queue.reclaim(consumer: "other", max: 10).isEmpty)
        try await subject.pass(.seconds(6))
        #expect(try await queue.reclaim(consumer: "other", max: 10).count == 2)
    }

    @Test(arguments: QueueBackend.all)
    func retryDelaysADeliveryAndCountsTheAttempt(_ backend: QueueBackend) async throws {
        let subject = try await backend.make(.seconds(30))
        let queue = subject.queue
        let event = makeEvents(1)[0]
        try await queue.enqueue([event])
        let first = try #require(try await queue.reserve(consumer: "a", max: 1, wait: .zero).first)
        // Seconds, not less: on a loaded machine the calls below may take seconds between them. Redis's
        // clock is real time, so what is asserted before the delay is asserted only while it has not passed.
        let retried = ContinuousClock.now
        try await queue.retry(first, after: .seconds(3), reason: "boom")
        let depth = try await queue.depth()
        let early = try await queue.reserve(consumer: "a", max: 1, wait: .zero)
        let inTime = ContinuousClock.now - retried < .milliseconds(2500)
        if inTime {
            #expect(depth == QueueDepth(ready: 0, pending: 0, delayed: 1, dead: 0))
            #expect(early.isEmpty)
        }
        try await subject.pass(.milliseconds(3200))
        let later = early.isEmpty ? try await queue.reserve(consumer: "a", max: 1, wait: .zero) : early
        let second = try #require(later.first)
        #expect(second.event == event)
        #expect(second.attempt == 2)
        #expect(second.lastError == "boom")
        try await queue.ack([second.id])
        #expect(try await queue.depth().backlog == 0)
    }

    @Test(arguments: QueueBackend.all)
    func deadLettersCanBeListedReplayedAndPurged(_ backend: QueueBackend) async throws {
        let queue = try await backend.make(.seconds(30)).queue
        let events = makeEvents(3)
        try await queue.enqueue(events)
        let deliveries = try await queue.reserve(consumer: "a", max: 3, wait: .zero)
        for delivery in deliveries { try await queue.deadLetter(delivery, reason: "bad \(delivery.event.path)") }
        #expect(try await queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 3))

        let letters = try await queue.deadLetters(limit: 10)
        #expect(letters.map(\.event) == events.map { Optional($0) })
        #expect(letters.map(\.payload) == events.map(EventCodec.encode))
        #expect(letters.map(\.reason) == events.map { "bad \($0.path)" })
        #expect(letters.allSatisfy { $0.attempts == 1 })
        #expect(try await queue.deadLetters(limit: 2).count == 2)

        #expect(try await queue.replayDeadLetters(ids: [letters[0].id]) == 1)
        let replayed = try await queue.reserve(consumer: "a", max: 10, wait: .zero)
        #expect(replayed.map(\.event) == [events[0]])
        #expect(replayed[0].attempt == 1)

        #expect(try await queue.purgeDeadLetters(ids: [letters[1].id]) == 1)
        #expect(try await queue.deadLetters(limit: 10).map(\.event) == [events[2]])
        #expect(try await queue.replayDeadLetters(ids: nil) == 1)
        #expect(try await queue.purgeDeadLetters(ids: nil) == 0)
        #expect(try await queue.depth() == QueueDepth(ready: 1, pending: 1, delayed: 0, dead: 0))
    }

    @Test(arguments: QueueBackend.all)
    func aDeadLetterKeepsItsAttemptCount(_ backend: QueueBackend) async throws {
        let subject = try await backend.make(.seconds(30))
        let queue = subject.queue
        try await queue.enqueue(makeEvents(1))
        var delivery = try #require(try await queue.reserve(consumer: "a", max: 1, wait: .zero).first)
        for _ in 0..<2 {
            try await queue.retry(delivery, after: .zero, reason: "again")
            try await subject.pass(.milliseconds(10))
            delivery = try #require(try await queue.reserve(consumer: "a", max: 1, wait: .seconds(1)).first)
        }
        #expect(delivery.attempt == 3)
        try await queue.deadLetter(delivery, reason: "gave up")
        let letter = try #require(try await queue.deadLetters(limit: 1).first)
        #expect(letter.attempts == 3)
        #expect(letter.reason == "gave up")
    }

    /// A consumer that stalled, and lost its deliveries to another that stored and acknowledged them, can no
    /// longer retry or dead-letter them: they are no longer pending.
    @Test(arguments: QueueBackend.all)
    func aDeliveryReclaimedAndAcknowledgedByAnotherConsumerIsNeitherRetriedNorDeadLettered(_ backend: QueueBackend) async throws {
        let subject = try await backend.make(.seconds(3))
        let queue = subject.queue
        try await queue.enqueue(makeEvents(2))
        let stale = try await queue.reserve(consumer: "stalled", max: 2, wait: .zero)
        try #require(stale.count == 2)
        try await subject.pass(.milliseconds(4500))
        let reclaimed = try await queue.reclaim(consumer: "rescuer", max: 10)
        #expect(Set(reclaimed.map(\.id)) == Set(stale.map(\.id)))
        try await queue.ack(reclaimed.map(\.id))

        #expect(try await queue.retry(stale[0], after: .zero, reason: "late") == false)
        #expect(try await queue.deadLetter(stale[1], reason: "late") == false)
        #expect(try await queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 0))
        #expect(try await queue.deadLetters(limit: 10).isEmpty)
    }

    /// Pending is a matter of the delivery's ID, not of who holds it nor of how often it was handed out:
    /// when a consumer reclaims its own stalled delivery, whichever copy moves it first moves it, once.
    @Test(arguments: QueueBackend.all)
    func aDeliveryReclaimedByItsOwnConsumerIsMovedOnceWhicheverCopyMovesIt(_ backend: QueueBackend) async throws {
        let subject = try await backend.make(.seconds(3))
        let queue = subject.queue
        try await queue.enqueue(makeEvents(1))
        let first = try #require(try await queue.reserve(consumer: "a", max: 1, wait: .zero).first)
        try await subject.pass(.milliseconds(4500))
        let again = try #require(try await queue.reclaim(consumer: "a", max: 10).first)
        #expect(again.id == first.id)

        #expect(try await queue.deadLetter(again, reason: "crashed"))
        #expect(try await queue.retry(first, after: .zero, reason: "late") == false)
        #expect(try await queue.deadLetter(first, reason: "late") == false)
        #expect(try await queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 1))
        #expect(try await queue.deadLetters(limit: 10).map(\.reason) == ["crashed"])
    }

    /// A delivery counts the times it was handed out: 1 when reserved, one more at each reclaim, whoever
    /// reclaims it; a touch does not count, and a retry is a new delivery that counts from 1 again.
    @Test(arguments: QueueBackend.all)
    func deliveryCountsGrowWithEachReclaimAndStartAgainOnRetry(_ backend: QueueBackend) async throws {
        let subject = try await backend.make(.seconds(3))
        let queue = subject.queue
        try await queue.enqueue(makeEvents(2))
        #expect(try await queue.reserve(consumer: "a", max: 2, wait: .zero).map(\.deliveries) == [1, 1])
        var reclaimed: [Delivery] = []
        var counts: [[Int]] = []
        for consumer in ["b", "a", "c"] {
            try await subject.pass(.milliseconds(4500))
            reclaimed = try await queue.reclaim(consumer: consumer, max: 10)
            counts.append(reclaimed.map(\.deliveries))
        }
        #expect(counts == [[2, 2], [3, 3], [4, 4]])

        let retried = try #require(reclaimed.first)
        let kept = try #require(reclaimed.last)
        #expect(try await queue.retry(retried, after: .zero, reason: "again"))
        try await queue.touch([kept.id], consumer: "c")
        try await subject.pass(.milliseconds(10))
        let redelivered = try #require(try await queue.reserve(consumer: "d", max: 10, wait: .seconds(1)).first)
        #expect(redelivered.event == retried.event)
        #expect(redelivered.attempt == 2 && redelivered.deliveries == 1)

        try await subject.pass(.milliseconds(4500))
        let last = try await queue.reclaim(consumer: "e", max: 10)
        #expect(Dictionary(uniqueKeysWithValues: last.map { ($0.event.id, $0.deliveries) }) == [kept.event.id: 5, retried.event.id: 2])
    }

    /// An entry that is not an event (only another writer can put one in the stream, so only Redis meets it)
    /// is dead-lettered as it is read, listed with its payload as it is, replayed as it is (and dead-lettered
    /// again when read), and purged.
    @Test(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and REDIS_URL"))
    func undecodableDeadLettersAreListedReplayedAndPurged() async throws {
        let configuration = RedisUnderTest.queueConfiguration()
        let queue = try RedisStreamQueue(url: RedisUnderTest.url, configuration: configuration)
        let raw = try RedisUnderTest.client()
        let event = makeEvents(1, site: "undecodable")[0]
        _ = try await raw.command("XADD", .init(configuration.keyPrefix + ":events"), "*", "e", "{not an event")
        try await queue.enqueue([event])
        let delivered = try await queue.reserve(consumer: "a", max: 10, wait: .zero)
        #expect(delivered.map(\.event) == [event])
        try await queue.deadLetter(try #require(delivered.first), reason: "gave up")

        let letters = try await queue.deadLetters(limit: 10)
        #expect(letters.map(\.event) == [nil, event])
        #expect(letters.map(\.payload) == ["{not an event", EventCodec.encode(event)])
        #expect(letters.map(\.reason) == ["undecodable queue entry", "gave up"])

        #expect(try await queue.replayDeadLetters(ids: [letters[0].id]) == 1)
        #expect(try await queue.reserve(consumer: "a", max: 10, wait: .zero).isEmpty)
        let again = try await queue.deadLetters(limit: 10)
        #expect(again.map(\.payload) == [EventCodec.encode(event), "{not an event"])
        let undecodable = try #require(again.last)
        #expect(undecodable.event == nil && undecodable.id != letters[0].id)

        #expect(try await queue.purgeDeadLetters(ids: [undecodable.id]) == 1)
        #expect(try await queue.deadLetters(limit: 10).map(\.event) == [event])
        #expect(try await queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 1))
        await raw.shutdown()
        await queue.shutdown()
    }

    @Test(arguments: QueueBackend.all)
    func enqueueKeepsEveryFieldOfTheEvent(_ backend: QueueBackend) async throws {
        let queue = try await backend.make(.seconds(30)).queue
        let event = Event(
            id: EventID("0192e4a0-7b1c-7cc3-9a6e-3f4d5e6a7b8c")!, siteID: "s.1:x", eventType: "signup:completed",
            path: "/café/\u{1F389}?q=\"x\"\\", userID: nil, timestamp: -86_400_000_001)
        try await queue.enqueue([event])
        #expect(try await queue.reserve(consumer: "a", max: 1, wait: .zero).map(\.event) == [event])
    }

    @Test(arguments: QueueBackend.all)
    func answersPing(_ backend: QueueBackend) async throws {
        try await backend.make(.seconds(30)).queue.ping()
    }
}
