import AnalyticsCore
import AnalyticsInMemory
import AnalyticsSpec
import AnalyticsTestSupport
import AnalyticsWorker
import Logging
import ServiceLifecycle
import ServiceLifecycleTestKit
import Testing

@Suite struct WorkerTests {
    func events(_ count: Int) -> [Event] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { index in
            Event(id: EventID.version7(unixMilliseconds: 1_763_114_400_000, using: &generator), siteID: "w",
                  eventType: "view", path: "/\(index)", userID: nil, timestamp: 1_763_114_400_000_000)
        }
    }

    func storedIDs(_ pipeline: Pipeline) async -> [EventID] {
        await pipeline.inMemoryStore.storedEvents.map(\.id)
    }

    @Test func insertsAndAcknowledgesABatch() async throws {
        let pipeline = Pipeline()
        let sent = events(1200)
        try await pipeline.queue.enqueue(sent)
        let outcomes = try await pipeline.drain(with: pipeline.worker { $0.batchSize = 500 })
        #expect(outcomes.map(\.count) == [500, 500, 200])
        #expect(outcomes.map(\.inserted).reduce(0, +) == 1200)
        #expect(await storedIDs(pipeline) == sent.map(\.id))
        #expect(try await pipeline.queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 0))
    }

    @Test func aDuplicateCountsAsSuccess() async throws {
        let pipeline = Pipeline()
        let sent = events(10)
        _ = try await pipeline.store.insert(Array(sent[0..<4]))
        try await pipeline.queue.enqueue(sent)
        let outcome = try #require(try await pipeline.drain().first)
        #expect(outcome.inserted == 6 && outcome.duplicates == 4)
        #expect(try await pipeline.queue.depth().backlog == 0)
    }

    @Test func aStoreOutageRetriesTheSameBatchWithoutLosingOrAcking() async throws {
        let pipeline = Pipeline()
        let sent = events(50)
        try await pipeline.queue.enqueue(sent)
        pipeline.store.setDown(true)
        let worker = pipeline.worker()
        let started = pipeline.clock.now
        let processing = Task { try await worker.processNextBatch() }
        while pipeline.store.insertCalls < 8 { await Task.yield() }
        #expect(try await pipeline.queue.depth() == QueueDepth(ready: 0, pending: 50, delayed: 0, dead: 0))
        #expect(await storedIDs(pipeline).isEmpty)
        pipeline.store.setDown(false)
        let outcome = try #require(try await processing.value)
        #expect(outcome.inserted == 50)
        #expect(await storedIDs(pipeline) == sent.map(\.id))
        #expect(try await pipeline.queue.depth().backlog == 0)
        #expect(pipeline.clock.now > started, "the worker waited between attempts")
    }

    /// While the store does not answer at all, a batch is kept however long past `maxOutage`; once it answers
    /// but still cannot take the batch (a statement that times out, a missing table), the batch is split down
    /// to single events, dead-lettered with the reason.
    @Test func aBatchTheStoreCannotTakePastMaxOutageIsDeadLetteredOnlyWhileTheStoreAnswers() async throws {
        let pipeline = Pipeline()
        let sent = events(8)
        try await pipeline.queue.enqueue(sent)
        pipeline.store.setDown(true)
        let worker = pipeline.worker { $0.maxOutage = .seconds(60) }
        let started = pipeline.clock.now
        let processing = Task { try await worker.processNextBatch() }
        while pipeline.clock.now - started < Duration.seconds(300).microseconds { await Task.yield() }
        #expect(try await pipeline.queue.depth() == QueueDepth(ready: 0, pending: 8, delayed: 0, dead: 0))

        pipeline.store.failNextInserts(1_000_000)
        pipeline.store.setDown(false)
        // Until all are dead-lettered, or an hour of backoff has passed: before the limit, the worker went on for ever.
        let deadline = pipeline.clock.now + Duration.seconds(3600).microseconds
        while try await pipeline.queue.depth().dead < 8, pipeline.clock.now < deadline { await Task.yield() }
        processing.cancel()
        let outcome = try #require(try await processing.value)
        #expect(outcome.deadLettered == 8 && outcome.inserted == 0 && outcome.retried == 0)
        let letters = try await pipeline.queue.deadLetters(limit: 10)
        #expect(Set(letters.compactMap(\.event?.id)) == Set(sent.map(\.id)))
        #expect(letters.allSatisfy { $0.reason.hasPrefix("store unavailable for ") && $0.reason.hasSuffix(" attempts: injected outage") })
        #expect(try await pipeline.queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 8))
        #expect(await storedIDs(pipeline).isEmpty)
    }

    /// Deliveries handed out more often than `maxDeliveries` (their workers died on them each time) are
    /// dead-lettered before the insert; the others of the batch go in. Replayed, they count from 1 again.
    @Test func aDeliveryHandedOutMoreThanMaxDeliveriesIsDeadLetteredWithoutBeingInserted() async throws {
        let pipeline = Pipeline(visibilityTimeout: .seconds(30))
        let sent = events(5)
        try await pipeline.queue.enqueue(sent)
        // The first three are handed out four times by the end, the last two three times.
        _ = try await pipeline.queue.reserve(consumer: "crashed", max: 3, wait: .zero)
        pipeline.clock.advance(by: .seconds(31))
        #expect(try await pipeline.queue.reclaim(consumer: "crashed", max: 10).count == 3)
        _ = try await pipeline.queue.reserve(consumer: "crashed too", max: 10, wait: .zero)
        pipeline.clock.advance(by: .seconds(31))
        #expect(try await pipeline.queue.reclaim(consumer: "crashed", max: 10).map(\.deliveries) == [3, 3, 3, 2, 2])
        pipeline.clock.advance(by: .seconds(31))

        let rescuer = pipeline.worker("rescuer") { $0.maxDeliveries = 3 }
        let outcome = try #require(try await rescuer.reclaimStalled())
        #expect(outcome.count == 5 && outcome.deadLettered == 3 && outcome.inserted == 2)
        #expect(pipeline.store.insertCalls == 1)
        #expect(await storedIDs(pipeline) == sent[3...].map(\.id))
        let letters = try await pipeline.queue.deadLetters(limit: 10)
        #expect(letters.map(\.event?.id) == sent[..<3].map { Optional($0.id) })
        #expect(letters.allSatisfy {
            $0.reason == "delivered 4 times without being acknowledged (a worker crashed or stalled on it each time)" && $0.attempts == 1
        })
        #expect(try await pipeline.queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 3))

        #expect(try await pipeline.queue.replayDeadLetters(ids: nil) == 3)
        let replayed = try #require(try await rescuer.processNextBatch())
        #expect(replayed.inserted == 3 && replayed.deadLettered == 0)
        #expect(Set(await storedIDs(pipeline)) == Set(sent.map(\.id)))
    }

    @Test func outageBackoffIsExponentialWithFullJitterAndCapped() {
        let backoff = Backoff(base: .milliseconds(100), cap: .seconds(10))
        #expect(backoff.ceiling(attempt: 1) == .milliseconds(100))
        #expect(backoff.ceiling(attempt: 4) == .milliseconds(800))
        #expect(backoff.ceiling(attempt: 20) == .seconds(10))
        #expect(backoff.ceiling(attempt: 10_000) == .seconds(10))
        var generator = SystemRandomNumberGenerator()
        let delays = (0..<1000).map { _ in backoff.delay(attempt: 4, using: &generator) }
        #expect(delays.allSatisfy { $0 >= .zero && $0 <= .milliseconds(800) })
        #expect(Set(delays).count > 100)
    }

    @Test func aPoisonEventIsIsolatedRetriedThenDeadLetteredAndCanBeReplayed() async throws {
        let pipeline = Pipeline()
        let sent = events(20)
        let poison = sent[13]
        pipeline.store.reject([poison.id])
        try await pipeline.queue.enqueue(sent)
        let worker = pipeline.worker()

        let first = try #require(try await worker.processNextBatch())
        #expect(first.inserted == 19 && first.retried == 1 && first.deadLettered == 0)
        #expect(Set(await storedIDs(pipeline)) == Set(sent.map(\.id)).subtracting([poison.id]))

        // Attempts 2 to 4 are retried after their backoff; attempt 5 is dead-lettered.
        var outcomes: [BatchOutcome] = []
        while try await pipeline.queue.depth().delayed == 1 {
            pipeline.clock.advance(by: .seconds(61))
            outcomes.append(try #require(try await worker.processNextBatch()))
        }
        #expect(outcomes.map(\.retried) == [1, 1, 1, 0])
        #expect(outcomes.map(\.deadLettered) == [0, 0, 0, 1])
        let letters = try await pipeline.queue.deadLetters(limit: 10)
        #expect(letters.map(\.event?.id) == [poison.id])
        #expect(letters[0].attempts == 5)
        #expect(letters[0].reason.contains("injected data error"))
        #expect(try await pipeline.queue.depth().backlog == 0)

        pipeline.store.acceptEverything()
        #expect(try await pipeline.queue.replayDeadLetters(ids: nil) == 1)
        let replayed = try #require(try await worker.processNextBatch())
        #expect(replayed.inserted == 1)
        #expect(Set(await storedIDs(pipeline)) == Set(sent.map(\.id)))
        #expect(try await pipeline.queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 0))
    }

    @Test func severalPoisonEventsInOneBatchAreEachIsolated() async throws {
        let pipeline = Pipeline()
        let sent = events(64)
        let poison = [sent[0], sent[31], sent[32], sent[63]]
        pipeline.store.reject(poison.map(\.id))
        try await pipeline.queue.enqueue(sent)
        let outcome = try #require(try await pipeline.worker().processNextBatch())
        #expect(outcome.inserted == 60 && outcome.retried == 4)
        #expect(try await pipeline.queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 4, dead: 0))
    }

    @Test func aCrashBetweenInsertAndAckIsRedeliveredWithoutADuplicateRow() async throws {
        let pipeline = Pipeline(visibilityTimeout: .seconds(30))
        let sent = events(30)
        try await pipeline.queue.enqueue(sent)
        pipeline.store.pauseAfterNextCommit()
        let doomed = pipeline.worker("doomed")
        let crashed = Task { try await doomed.processNextBatch() }
        while await pipeline.inMemoryStore.storedEvents.count < 30 { await Task.yield() }
        crashed.cancel()
        _ = await crashed.result
        #expect(try await pipeline.queue.depth().pending == 30)

        let rescuer = pipeline.worker("rescuer")
        #expect(try await rescuer.reclaimStalled() == nil)
        pipeline.clock.advance(by: .seconds(31))
        let outcome = try #require(try await rescuer.reclaimStalled())
        #expect(outcome.count == 30 && outcome.inserted == 0 && outcome.duplicates == 30)
        #expect(await storedIDs(pipeline) == sent.map(\.id))
        #expect(try await pipeline.queue.depth().backlog == 0)
    }

    @Test func aRunningWorkerReclaimsWhatAStalledConsumerLeft() async throws {
        let pipeline = Pipeline(visibilityTimeout: .seconds(10))
        let sent = events(7)
        try await pipeline.queue.enqueue(sent)
        _ = try await pipeline.queue.reserve(consumer: "gone", max: 7, wait: .zero)
        pipeline.clock.advance(by: .seconds(11))
        let worker = pipeline.worker { $0.reclaimInterval = .seconds(1) }
        try await testGracefulShutdown { trigger in
            let running = Task { try await worker.run() }
            while await pipeline.inMemoryStore.storedEvents.count < 7 { try await Task.sleep(for: .milliseconds(1)) }
            trigger.triggerGracefulShutdown()
            try await running.value
        }
        #expect(await storedIDs(pipeline) == sent.map(\.id))
        #expect(try await pipeline.queue.depth().backlog == 0)
    }

    @Test func gracefulShutdownFinishesAndAcknowledgesTheBatchInFlight() async throws {
        let pipeline = Pipeline()
        let sent = events(40)
        try await pipeline.queue.enqueue(sent)
        pipeline.store.closeGate()
        let worker = pipeline.worker { $0.batchSize = 40 }
        try await testGracefulShutdown { trigger in
            let running = Task { try await worker.run() }
            while pipeline.store.insertsStarted == 0 { try await Task.sleep(for: .milliseconds(1)) }
            trigger.triggerGracefulShutdown()
            try await pipeline.queue.enqueue(events(5))
            pipeline.store.openGate()
            try await running.value
        }
        #expect(await storedIDs(pipeline) == sent.map(\.id))
        // The batch in flight was acknowledged; what arrived after the shutdown began was left queued.
        #expect(try await pipeline.queue.depth() == QueueDepth(ready: 5, pending: 0, delayed: 0, dead: 0))
    }

    @Test func logsOneInfoLinePerBatchAndEventsOnlyAtDebug() async throws {
        let pipeline = Pipeline()
        let sent = events(3)
        pipeline.store.reject([sent[1].id])
        try await pipeline.queue.enqueue(sent)
        try await pipeline.drain()
        let info = pipeline.logs.recorded.filter { $0.level >= .info }
        #expect(info.map(\.message) == ["batch"])
        #expect(info[0].metadata["count"] == "3" && info[0].metadata["new"] == "2" && info[0].metadata["duplicates"] == "0")
        #expect(info[0].metadata["ms"] != nil)
        #expect(pipeline.logs.recorded.contains { $0.level == .debug && $0.message == "event retried" })
    }
}
