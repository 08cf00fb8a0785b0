import AnalyticsCore
import AnalyticsRedis
import AnalyticsTestSupport
import Testing

/// `REDIS_WAIT_REPLICAS` on real servers: a write counts as queued only once that many replicas acknowledged
/// it. The test Redis has no replica; the cluster of `REDIS_CLUSTER_URL` has one per master.
@Suite(.removesServerLeftovers) struct RedisReplicaWaitTests {
    /// A queue whose writes wait for `replicas`: up to a second when they should get them (a busy machine's
    /// replica may take a while), a tenth when they cannot.
    private func queue(_ url: String, prefix: String? = nil, replicas: Int, timeout: Duration = .milliseconds(100)) throws -> RedisStreamQueue {
        var configuration = RedisQueueConfiguration()
        configuration.keyPrefix = prefix ?? RedisUnderTest.queueConfiguration().keyPrefix
        configuration.replicaWait = ReplicaWait(replicas: replicas, timeout: timeout)
        return try RedisStreamQueue(url: url, configuration: configuration)
    }

    private let draw = BucketDraw(key: "site:conf", policy: "site", limit: RateLimit(perSecond: 1000, burst: 1000), cost: 1)

    @Test(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and REDIS_URL"))
    func onAServerWithoutReplicasAWriteThatAsksForOneFails() async throws {
        let waiting = try queue(RedisUnderTest.url, replicas: 1)
        await #expect(throws: QueueUnavailable.self) { try await waiting.enqueue(makeEvents(2)) }
        await #expect(throws: QueueUnavailable.self) { _ = try await waiting.enqueue(makeEvents(1), drawing: [draw]) }
        await waiting.shutdown()
        let plain = try queue(RedisUnderTest.url, replicas: 0)
        try await plain.enqueue(makeEvents(1))
        await plain.shutdown()
    }

    @Test(.enabled(if: Integration.enabled && RedisUnderTest.clusterURL != nil, "needs ANALYTICS_INTEGRATION=1 and REDIS_CLUSTER_URL"))
    func onAClusterOneReplicaAcknowledgesAndTwoDoNot() async throws {
        let url = try #require(RedisUnderTest.clusterURL)
        let prefix = "test:\(UInt64.random(in: 0...UInt64.max))"
        ServerLeftovers.current?.keyPrefix(prefix, on: url)
        let one = try queue(url, prefix: prefix, replicas: 1, timeout: .seconds(1))
        for _ in 0..<4 { try await one.enqueue(makeEvents(3)) }
        #expect(try await one.enqueue(makeEvents(1), drawing: [draw]) == .queued)
        #expect(try await one.reserve(consumer: "a", max: 100, wait: .zero).count == 13)
        await one.shutdown()
        let two = try queue(url, prefix: prefix, replicas: 2)
        // The draw itself waits for replicas: refused there, nothing is added (were the draw not waited for,
        // the add after it would put the event in a stream before its own `WAIT` failed).
        let before = try await two.depth()
        await #expect(throws: QueueUnavailable.self) { _ = try await two.enqueue(makeEvents(1), drawing: [draw]) }
        #expect(try await two.depth() == before)
        await #expect(throws: QueueUnavailable.self) { try await two.enqueue(makeEvents(1)) }
        await two.shutdown()
    }
}
