import AnalyticsCore
@testable import AnalyticsRedis
import AnalyticsSpec
import AnalyticsTestSupport
import Testing

/// What only the Redis queue can meet: entries that some other writer put in its stream, and what the
/// stream itself holds.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and REDIS_URL"), .removesServerLeftovers)
struct RedisStreamQueueTests {
    /// A queue under keys of its own, a plain client on the same server, and the queue's stream key.
    private static func queueAndClient(
        commandsPerFlush: Int = 10_000, visibilityTimeout: Duration = .seconds(30)
    ) throws -> (RedisStreamQueue, RedisClient, String) {
        var configuration = RedisUnderTest.queueConfiguration()
        configuration.commandsPerFlush = commandsPerFlush
        configuration.visibilityTimeout = visibilityTimeout
        let queue = try RedisStreamQueue(url: RedisUnderTest.url, configuration: configuration)
        return (queue, try RedisUnderTest.client(), configuration.keyPrefix + ":events")
    }

    /// An entry that is not an event goes to the dead letters as it is read; the events beside it are delivered.
    @Test func undecodableEntriesAreDeadLetteredAsTheyAreRead() async throws {
        let (queue, raw, stream) = try Self.queueAndClient()
        let events = makeEvents(2, site: "undecodable")
        try await queue.enqueue([events[0]])
        _ = try await raw.command("XADD", .init(stream), "*", "e", "{not an event", "a", "1")
        try await queue.enqueue([events[1]])

        let deliveries = try await queue.reserve(consumer: "reader", max: 10, wait: .zero)
        #expect(deliveries.map(\.event) == events)
        #expect(deliveries.allSatisfy { $0.attempt == 1 && $0.lastError == nil })
        let depth = try await queue.depth()
        #expect(depth.dead == 1)
        #expect(depth.pending == 2)
        #expect(depth.ready == 0)
        await raw.shutdown()
        await queue.shutdown()
    }

    /// A new entry holds only its payload and is a first attempt; an entry that carries an attempt and an
    /// error (a retry, or an entry written by an earlier version, which wrote `a 1` into every entry) keeps them.
    @Test func entriesWithoutAnAttemptAreFirstAttempts() async throws {
        let (queue, raw, stream) = try Self.queueAndClient()
        let events = makeEvents(3, site: "attempts")
        try await queue.enqueue([events[0]])
        _ = try await raw.command("XADD", .init(stream), "*", "e", .init(EventCodec.encode(events[1])), "a", "1")
        _ = try await raw.command("XADD", .init(stream), "*", "e", .init(EventCodec.encode(events[2])), "a", "3", "r", "timeout")

        let oldest = try #require(try await raw.command("XRANGE", .init(stream), "-", "+", "COUNT", "1").array?.first?.array)
        #expect(oldest.last?.array?.compactMap(\.text) == ["e", EventCodec.encode(events[0])], "the payload alone")
        let deliveries = try await queue.reserve(consumer: "reader", max: 10, wait: .zero)
        #expect(deliveries.map(\.event) == events)
        #expect(deliveries.map(\.attempt) == [1, 1, 3])
        #expect(deliveries.map(\.lastError) == [nil, nil, "timeout"])
        await raw.shutdown()
        await queue.shutdown()
    }

    /// A write Redis refuses is reported, never acknowledged: a single event, and a batch whose commands
    /// fail inside its transaction (an `EXEC` answers with each command's error, not with an error).
    @Test func refusedWritesAreNotAcknowledged() async throws {
        let (queue, raw, stream) = try Self.queueAndClient()
        try await queue.enqueue(makeEvents(1, site: "refused"))
        _ = try await raw.command("DEL", .init(stream))
        _ = try await raw.command("SET", .init(stream), "not a stream")

        await #expect(throws: QueueUnavailable.self) { try await queue.enqueue(makeEvents(1, site: "refused")) }
        await #expect(throws: QueueUnavailable.self) { try await queue.enqueue(makeEvents(3, site: "refused")) }
        await raw.shutdown()
        await queue.shutdown()
    }

    /// Concurrent writes share round trips of at most `commandsPerFlush` commands: each is acknowledged
    /// once its own commands ran, and the stream holds every event once.
    @Test func concurrentWritesSplitAcrossRoundTripsLandWhole() async throws {
        let (queue, raw, _) = try Self.queueAndClient(commandsPerFlush: 3)
        let singles = makeEvents(60, site: "split-single")
        let batches = (0..<15).map { makeEvents(4, site: "split-batch-\($0)") }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for event in singles { group.addTask { try await queue.enqueue([event]) } }
            for batch in batches { group.addTask { try await queue.enqueue(batch) } }
            try await group.waitForAll()
        }
        let delivered = try await queue.reserve(consumer: "reader", max: 1_000, wait: .zero)
        #expect(delivered.count == 120)
        #expect(Set(delivered.map(\.event)) == Set(singles + batches.flatMap { $0 }))
        for batch in batches {
            let positions = batch.compactMap { event in delivered.firstIndex { $0.event == event } }
            let start = try #require(positions.first)
            #expect(positions == Array(start..<start + 4), "a batch's entries are added together, in order")
        }
        await raw.shutdown()
        await queue.shutdown()
    }

    /// Acknowledged entries leave the stream, in any order of acknowledgement; undelivered ones stay, and
    /// the depth counts them as ready throughout.
    @Test func acknowledgedEntriesAreTrimmedUpToTheOldestPending() async throws {
        let (queue, raw, stream) = try Self.queueAndClient()
        let length = { try await raw.command("XLEN", .init(stream)).integer }
        try await queue.enqueue(makeEvents(10, site: "trim"))
        let deliveries = try await queue.reserve(consumer: "reader", max: 10, wait: .zero)
        try await queue.enqueue(makeEvents(3, site: "trim"))

        try await queue.ack(deliveries[5...].map(\.id))
        #expect(try await queue.depth() == QueueDepth(ready: 3, pending: 5, delayed: 0, dead: 0))
        try await queue.ack(deliveries[1..<5].map(\.id))
        #expect(try await queue.depth() == QueueDepth(ready: 3, pending: 1, delayed: 0, dead: 0))
        try await queue.ack([deliveries[0].id])
        #expect(try await length() == 3)
        #expect(try await queue.depth() == QueueDepth(ready: 3, pending: 0, delayed: 0, dead: 0))

        let rest = try await queue.reserve(consumer: "reader", max: 10, wait: .zero)
        #expect(rest.count == 3)
        try await queue.ack(rest.map(\.id))
        #expect(try await length() == 0)
        #expect(try await queue.depth().backlog == 0)
        await raw.shutdown()
        await queue.shutdown()
    }

    /// Entries an earlier version left in the consumer group's pending list (it read without `NOACK`, and its
    /// workers are stopped) are not lost: acknowledgements before they are taken over do not trim them
    /// away, and the first reclaim puts all of them back at the end of the stream, as they were, to be
    /// read again; then they leave the pending list.
    @Test func entriesAnEarlierVersionLeftPendingAreReadAgain() async throws {
        let (queue, raw, stream) = try Self.queueAndClient()
        let old = makeEvents(2_500, site: "upgrade")
        try await queue.enqueue(old)
        _ = try await raw.command("XREADGROUP", "GROUP", "workers", "old", "COUNT", "5000", "STREAMS", .init(stream), ">")
        let fresh = makeEvents(2, site: "upgrade-new")
        try await queue.enqueue(fresh)
        let taken = try await queue.reserve(consumer: "new", max: 10, wait: .zero)
        #expect(taken.map(\.event) == fresh)
        try await queue.ack(taken.map(\.id))
        // A trim removes a prefix: the two acknowledged entries after the pending ones stay with them.
        #expect(try await raw.command("XLEN", .init(stream)).integer == 2_502, "the trim keeps what the pending list holds")

        #expect(try await queue.reclaim(consumer: "new", max: 1_000).isEmpty)
        #expect(try await raw.command("XPENDING", .init(stream), "workers").array?.first?.integer == 0)
        #expect(try await queue.depth() == QueueDepth(ready: 2_500, pending: 0, delayed: 0, dead: 0))
        let again = try await queue.reserve(consumer: "new", max: 5_000, wait: .zero)
        #expect(again.map(\.event) == old)
        #expect(again.allSatisfy { $0.deliveries == 1 && $0.attempt == 1 })
        try await queue.ack(again.map(\.id))
        #expect(try await queue.depth().backlog == 0)
        #expect(try await raw.command("XLEN", .init(stream)).integer == 0)
        await raw.shutdown()
        await queue.shutdown()
    }

    /// A read leased by nobody (a script around it failed inside the transaction, which the read's cursor
    /// move survives) is leased from its entries: kept from the trim, and reclaimable.
    @Test func aReadWhoseLeaseWasNotRecordedIsLeasedFromItsEntries() async throws {
        let (queue, raw, stream) = try Self.queueAndClient(visibilityTimeout: .seconds(1))
        let leases = String(stream.dropLast("events".count)) + "leases"
        let events = makeEvents(3, site: "recover")
        try await queue.enqueue(events)
        let read = try await raw.command("XREADGROUP", "GROUP", "workers", "a", "COUNT", "10", "NOACK", "STREAMS", .init(stream), ">")
        let ids = (read.array?.first?.array?.last?.array ?? []).compactMap { $0.array?.first?.text }
        try #require(ids.count == 3)
        _ = try await raw.evaluate(
            RedisStreamQueue.recoverScript, keys: [.init(stream), .init(leases)], arguments: [.init(ids[0]), .init(ids[2]), "a", "1000"])
        #expect(try await queue.depth() == QueueDepth(ready: 0, pending: 3, delayed: 0, dead: 0))
        try await queue.enqueue(makeEvents(1, site: "recover-other"))
        try await queue.ack(try await queue.reserve(consumer: "b", max: 10, wait: .zero).map(\.id))
        #expect(try await raw.command("XLEN", .init(stream)).integer ?? 0 >= 3, "the trim stops at the lease")
        try await Task.sleep(for: .milliseconds(1500))
        let reclaimed = try await queue.reclaim(consumer: "b", max: 10)
        #expect(reclaimed.map(\.event) == events)
        try await queue.ack(reclaimed.map(\.id))
        #expect(try await queue.depth().backlog == 0)

        // When even that fails (here the leases key holds a string), the read is handed out, not dropped.
        let more = makeEvents(2, site: "recover-more")
        try await queue.enqueue(more)
        _ = try await raw.command("SET", .init(leases), "not a hash")
        #expect(try await queue.reserve(consumer: "c", max: 10, wait: .zero).map(\.event) == more)
        _ = try await raw.command("DEL", .init(leases))
        await raw.shutdown()
        await queue.shutdown()
    }

    /// A lease with more entries than a reclaim may take is split: the first part goes now, the rest at the
    /// next reclaim, each entry once.
    @Test func aLeaseLargerThanAReclaimIsSplit() async throws {
        // The two reclaims must come within the visibility timeout of each other (else the second takes the
        // first's too): 10 s, far above a loaded machine's delays between two calls.
        let (queue, raw, stream) = try Self.queueAndClient(visibilityTimeout: .seconds(10))
        let events = makeEvents(5, site: "split")
        try await queue.enqueue(events)
        #expect(try await queue.reserve(consumer: "crashed", max: 10, wait: .zero).count == 5)
        try await Task.sleep(for: .milliseconds(10_500))
        let first = try await queue.reclaim(consumer: "a", max: 2)
        let rest = try await queue.reclaim(consumer: "b", max: 10)
        #expect(first.map(\.event) == Array(events[..<2]))
        #expect(rest.map(\.event) == Array(events[2...]))
        #expect((first + rest).allSatisfy { $0.deliveries == 2 })
        #expect(try await queue.depth() == QueueDepth(ready: 0, pending: 5, delayed: 0, dead: 0))
        try await queue.ack(rest.map(\.id))
        try await queue.ack(first.map(\.id))
        #expect(try await queue.depth().backlog == 0)
        #expect(try await raw.command("XLEN", .init(stream)).integer == 0)
        await raw.shutdown()
        await queue.shutdown()
    }

    /// Acknowledging what was acknowledged already releases nothing else: a lease whose entries left it
    /// one by one, or that another consumer reclaimed, is only ever released entry by entry, so a stale
    /// holder's acknowledgement of as many entries as are left cannot drop the ones another still holds.
    @Test func aStaleAcknowledgementReleasesNothingElse() async throws {
        let (queue, raw, _) = try Self.queueAndClient(visibilityTimeout: .seconds(1))
        try await queue.enqueue(makeEvents(6, site: "stale"))
        let stalled = try await queue.reserve(consumer: "z", max: 10, wait: .zero)
        try #require(stalled.count == 6)
        try await queue.ack(stalled[..<3].map(\.id))
        try await queue.ack(stalled[..<3].map(\.id))
        #expect(try await queue.depth().pending == 3, "the same three again release nothing")

        try await Task.sleep(for: .milliseconds(1500))
        let rescued = try await queue.reclaim(consumer: "b", max: 10)
        #expect(rescued.map(\.id) == stalled[3...].map(\.id))
        try await queue.ack(stalled[..<3].map(\.id))
        #expect(try await queue.depth().pending == 3, "three acknowledged before the reclaim release nothing after it")
        try await queue.ack(rescued.map(\.id))
        #expect(try await queue.depth().backlog == 0)
        await raw.shutdown()
        await queue.shutdown()
    }
}
