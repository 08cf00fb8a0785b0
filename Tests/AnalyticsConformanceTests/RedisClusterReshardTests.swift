import AnalyticsCore
import AnalyticsRedis
import AnalyticsTestSupport
import Foundation
import Testing

/// A partition's slot moved to another master while the queue runs, as `redis-cli --cluster reshard` moves
/// it: while its keys migrate the source answers `ASK` (followed, after `ASKING`, to the importing master),
/// and once the slot is the target's it answers `MOVED` (followed, and the map read again). Moves a slot
/// for good, so it runs alone, on the cluster of `REDIS_CLUSTER_URL` with `REDIS_CLUSTER_RESHARD=1`.
@Suite(.serialized, .removesServerLeftovers) struct RedisClusterReshardTests {
    static var enabled: Bool {
        Integration.enabled && RedisUnderTest.clusterURL != nil && ProcessInfo.processInfo.environment["REDIS_CLUSTER_RESHARD"] == "1"
    }

    @Test(.enabled(if: enabled, "needs ANALYTICS_INTEGRATION=1, REDIS_CLUSTER_URL and REDIS_CLUSTER_RESHARD=1"))
    func aPartitionFollowsItsSlotThroughAMigration() async throws {
        let url = try #require(RedisUnderTest.clusterURL)
        var configuration = RedisQueueConfiguration()
        // One partition: every call of the queue is on the slot that moves.
        configuration.keyPrefix = "test:\(UInt64.random(in: 0...UInt64.max))"
        configuration.partitions = 1
        ServerLeftovers.current?.keyPrefix(configuration.keyPrefix, on: url)
        let queue = try RedisStreamQueue(url: url, configuration: configuration)
        let streamKey = queue.streamKeys[0]
        let slot = RedisSlot.of(streamKey)

        try await queue.enqueue(makeEvents(3))
        let first = try await queue.reserve(consumer: "a", max: 1, wait: .zero)
        #expect(first.count == 1)

        // The slot's master (the one that answers for the key) and another.
        var clients: [RedisClient] = []
        for master in try await RedisCluster.masters(of: try RedisConfiguration(url: url)) {
            clients.append(RedisClient(configuration: master, connections: 1))
        }
        defer { for client in clients { Task { await client.shutdown() } } }
        var source: RedisClient?
        for client in clients {
            if (try? await client.command("EXISTS", .init(streamKey)))?.integer == 1 { source = client }
        }
        let from = try #require(source)
        let to = try #require(clients.first { $0 !== from })
        let fromID = try #require(try await from.command("CLUSTER", "MYID").text)
        let toID = try #require(try await to.command("CLUSTER", "MYID").text)

        // The rest of the slot's keys, then the slot is the target's everywhere: also when the test fails
        // half way, so that the cluster is not left with a slot migrating.
        let target = to.configuration
        func finishMigration() async throws {
            while true {
                let keys = (try await from.command("CLUSTER", "GETKEYSINSLOT", .init(slot), "100")).array?.compactMap(\.text) ?? []
                if keys.isEmpty { break }
                try await from.command(["MIGRATE", .init(target.host), .init(target.port), "", "0", "5000", "KEYS"] + keys.map { RedisArgument($0) })
            }
            for client in [to, from] + clients.filter({ $0 !== from && $0 !== to }) {
                try await client.command("CLUSTER", "SETSLOT", .init(slot), "NODE", .init(toID))
            }
        }

        // Migrating: the stream moves first, the rest of the slot's keys stay behind for now.
        try await to.command("CLUSTER", "SETSLOT", .init(slot), "IMPORTING", .init(fromID))
        do {
            try await from.command("CLUSTER", "SETSLOT", .init(slot), "MIGRATING", .init(toID))
            try await from.command("MIGRATE", .init(target.host), .init(target.port), "", "0", "5000", "KEYS", .init(streamKey))
            // The source answers ASK for the stream: the events go to the importing master after ASKING.
            try await queue.enqueue(makeEvents(2, site: "during"))
            try await queue.enqueue(makeEvents(1, site: "during-single"))
            let length = try await to.pipeline([["ASKING"], ["XLEN", .init(streamKey)]])
            #expect(length.last?.integer == 6, "the three entries moved and the three added after ASKING: \(length)")
        } catch {
            do { try await finishMigration() } catch let cleanup { Issue.record("slot \(slot) left migrating: \(cleanup)") }
            throw error
        }
        try await finishMigration()

        // The queue still names the source for the slot: MOVED takes it to the target. Every event is there.
        let rest = try await queue.reserve(consumer: "a", max: 100, wait: .zero)
        #expect(rest.map(\.event.siteID).sorted() == ["conf", "conf", "during", "during", "during-single"])
        try await queue.ack((first + rest).map(\.id))
        #expect(try await queue.depth() == QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 0))
        #expect(try await to.command("EXISTS", .init(streamKey)).integer == 1)
        await queue.shutdown()
    }
}
