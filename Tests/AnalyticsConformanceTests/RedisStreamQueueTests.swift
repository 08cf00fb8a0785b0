import AnalyticsCore
import AnalyticsRedis
import AnalyticsTestSupport
import Testing

/// What only the Redis queue can meet: entries that some other writer put in its stream.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and REDIS_URL"))
struct RedisStreamQueueTests {
    /// An entry that is not an event goes to the dead letters as it is read; the events beside it are delivered.
    @Test func undecodableEntriesAreDeadLetteredAsTheyAreRead() async throws {
        let url = Integration.redisURL ?? "redis://127.0.0.1:6379/0"
        var configuration = RedisQueueConfiguration()
        configuration.keyPrefix = "test:\(UInt64.random(in: 0...UInt64.max))"
        let queue = try RedisStreamQueue(url: url, configuration: configuration)
        let raw = RedisClient(configuration: try RedisConfiguration(url: url), connections: 1)
        let events = makeEvents(2, site: "undecodable")
        try await queue.enqueue([events[0]])
        _ = try await raw.command("XADD", .init("\(configuration.keyPrefix):events"), "*", "e", "{not an event", "a", "1")
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
}
