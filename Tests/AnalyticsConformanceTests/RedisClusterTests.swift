@testable import AnalyticsRedis
import Testing

/// What the queue needs of a Redis Cluster without one running: key slots as the cluster computes them,
/// cluster URLs, the slot map, what each error asks of a caller, and partitions spread over the slots.
struct RedisClusterTests {
    /// Slots from `CLUSTER KEYSLOT` on Redis 7, hash tags included.
    @Test(arguments: [
        ("foo", 12182), ("bar", 5061), ("{user1000}.following", 3443), ("foo{}{bar}", 8363), ("foo{{bar}}zap", 4015),
        ("foo{bar}{zap}", 5061), ("analytics:{p3}:events", 3689), ("", 0),
    ])
    func slotsAreTheClustersOwn(_ key: String, _ slot: Int) {
        #expect(RedisSlot.of(key) == slot)
    }

    @Test func theChecksumIsXmodem() {
        #expect(RedisSlot.crc16(Array("123456789".utf8)[...]) == 0x31C3)
    }

    @Test func aClusterURLNamesItsNodesAndCredentials() throws {
        let configuration = try RedisConfiguration(url: "redis+cluster://ingest:p%40ss@10.0.0.1:7000,10.0.0.2,[::1]:7002")
        #expect(configuration.isCluster)
        #expect(configuration.clusterSeeds == [
            RedisNodeAddress(host: "10.0.0.1", port: 7000), RedisNodeAddress(host: "10.0.0.2", port: 6379), RedisNodeAddress(host: "::1", port: 7002),
        ])
        #expect(configuration.username == "ingest" && configuration.password == "p@ss")
        #expect("\(configuration)" == "redis+cluster://ingest:***@10.0.0.1:7000,10.0.0.2:6379,[::1]:7002")
        let node = configuration.node(RedisNodeAddress(host: "10.0.0.9", port: 7009))
        #expect(!node.isCluster && node.host == "10.0.0.9" && node.port == 7009 && node.password == "p@ss")
        #expect(!(try RedisConfiguration(url: "redis://10.0.0.1:7000/0")).isCluster)
    }

    @Test(arguments: ["redis+cluster://h:1/2", "redis+cluster://h:1,,h:2", "redis+cluster://h:0", "rediss+cluster://h:1"])
    func aBadClusterURLIsRefused(_ url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test func theSlotMapNamesEachRangesMaster() throws {
        let reply = RedisReply.array([
            .array([.integer(0), .integer(5460), .array([.string(Array("10.0.0.1".utf8)), .integer(7000), .string(Array("id1".utf8))]),
                    .array([.string(Array("10.0.0.4".utf8)), .integer(7003)])]),
            .array([.integer(5461), .integer(16383), .array([.string([]), .integer(7001)])]),
        ])
        let map = try RedisTopology<Int>.slotMap(reply, askedOf: RedisNodeAddress(host: "10.0.0.2", port: 7001))
        #expect(map.map(\.0) == [0...5460, 5461...16383])
        #expect(map.map(\.1) == [RedisNodeAddress(host: "10.0.0.1", port: 7000), RedisNodeAddress(host: "10.0.0.2", port: 7001)])
        #expect(throws: RedisError.self) { try RedisTopology<Int>.slotMap(.array([]), askedOf: RedisNodeAddress(host: "h", port: 1)) }
        #expect(throws: RedisError.self) { try RedisTopology<Int>.slotMap(.array([.array([.integer(9), .integer(1)])]), askedOf: RedisNodeAddress(host: "h", port: 1)) }
    }

    @Test func eachErrorIsFollowedWaitedOutOrThrown() {
        typealias Topology = RedisTopology<Int>
        #expect(Topology.disposition(of: .server("MOVED 3999 127.0.0.1:7002")) == .moved(slot: 3999, to: RedisNodeAddress(host: "127.0.0.1", port: 7002)))
        #expect(Topology.disposition(of: .server("ASK 3999 [::1]:7002")) == .ask(RedisNodeAddress(host: "::1", port: 7002)))
        for waited in ["TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN The cluster is down", "LOADING Redis is loading",
                       "MASTERDOWN Link with MASTER is down", "READONLY You can't write against a read only replica."] {
            #expect(Topology.disposition(of: .server(waited)) == .wait, "\(waited)")
        }
        #expect(Topology.disposition(of: .connection("Connection refused")) == .wait)
        for thrown in ["ERR unknown command", "NOSCRIPT No matching script", "NOGROUP No such key", "OOM command not allowed",
                       "EXECABORT Transaction discarded because of previous errors."] {
            #expect(Topology.disposition(of: .server(thrown)) == .fail, "\(thrown)")
        }
        // A redirection that names no host (or nothing at all) is settled by reading the map again.
        #expect(Topology.disposition(of: .server("MOVED 1 :7001")) == .wait)
        #expect(Topology.disposition(of: .server("MOVED nonsense")) == .wait)
        #expect(Topology.disposition(of: .server("EXECABORT Transaction discarded because of: MOVED 3999 127.0.0.1:7002")) == .wait)
        #expect(Topology.disposition(of: .protocolViolation("x")) == .fail)
    }

    /// `ASKING` goes before every command outside a transaction and before `MULTI`, not inside it (the flag
    /// lasts through the transaction, and a command inside it would be queued).
    @Test func askingPrecedesEachCommandAndEachTransaction() {
        let commands: [[RedisArgument]] = [["PING"], ["MULTI"], ["XADD", "k", "*", "e", "1"], ["EXEC"], ["GET", "k"]]
        let (request, kept) = RedisSlotRunner<Int>.asking(commands)
        #expect(request.map { String(decoding: $0[0].bytes, as: UTF8.self) } == ["ASKING", "PING", "ASKING", "MULTI", "XADD", "EXEC", "ASKING", "GET"])
        #expect(kept == [1, 3, 4, 5, 7])
    }

    /// The first `n` partitions spread over the slot space as evenly as `n` points can: for a power of two,
    /// exactly as many in each of `n` equal shares (and so on masters that split the slots evenly), and the
    /// default 16 on the usual three masters' thirds as 6, 5 and 5.
    @Test(arguments: [1, 2, 4, 8, 16, 64, 1024])
    func partitionsSpreadOverTheSlots(_ count: Int) {
        let slots = (0..<count).map { RedisSlot.of("x:{\(RedisStreamQueue.tag(of: $0))}:events") }
        let shares = (0..<count).map { share in slots.filter { $0 * count / RedisSlot.count == share }.count }
        #expect(shares == Array(repeating: 1, count: count))
        if count == 16 {
            let thirds = [0...5460, 5461...10922, 10923...16383].map { third in slots.filter { third.contains($0) }.count }
            #expect(thirds == [6, 5, 5])
        }
    }

    /// A partition's keys do not depend on the count: raising it keeps every partition there was (on one
    /// server, partition 0 keeps the keys of a queue without partitions).
    @Test func raisingThePartitionCountKeepsEveryPartitionsKeys() async throws {
        // Made, read and closed: nothing connects until a command is sent.
        func keys(_ url: String, _ count: Int) async throws -> [String] {
            var configuration = RedisQueueConfiguration()
            configuration.partitions = count
            let queue = try RedisStreamQueue(url: url, configuration: configuration)
            await queue.shutdown()
            return queue.streamKeys
        }
        let cluster = "redis+cluster://127.0.0.1:1"
        let sixteen = try await keys(cluster, 16)
        #expect(sixteen.count == 16 && Set(sixteen).count == 16)
        #expect(Array(try await keys(cluster, 32).prefix(16)) == sixteen)
        #expect(try await keys(cluster, 1).map { $0.hasPrefix("analytics:{p0") && $0.hasSuffix("}:events") } == [true])
        let server = "redis://127.0.0.1:1/0"
        #expect(try await keys(server, 1) == ["analytics:events"])
        let three = try await keys(server, 3)
        #expect(three.first == "analytics:events" && three[1].hasPrefix("analytics:{p1"))
        #expect(Array(try await keys(server, 5).prefix(3)) == three)
        var braced = RedisQueueConfiguration()
        braced.keyPrefix = "a{b}"
        #expect(throws: RedisError.self) { try RedisStreamQueue(url: cluster, configuration: braced) }
    }

    @Test func replicaWaitFailsWritesFewerReplicasHave() {
        let wait = ReplicaWait(replicas: 1, timeout: .milliseconds(250))
        #expect(String(decoding: wait.command.bytes, as: UTF8.self) == "*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$3\r\n250\r\n")
        let writes = PipelinedWrites(replicas: wait)
        let items = [RESPRequest([["XADD", "k", "*", "e", "1"]]), RESPRequest([["MULTI"], ["XADD", "k", "*", "e", "2"], ["EXEC"]])]
        #expect(writes.request(for: items).commands == 5)
        let replicated = writes.results(of: [.done, .done, .done, .done, .integer(1)], for: items)
        #expect(replicated.allSatisfy { (try? $0.get()) != nil })
        let unreplicated = writes.results(of: [.done, .done, .done, .done, .integer(0)], for: items)
        #expect(unreplicated.allSatisfy { (try? $0.get()) == nil })
        let refused = writes.results(of: [.error("OOM"), .done, .done, .done, .integer(1)], for: items)
        #expect((try? refused[0].get()) == nil && (try? refused[1].get()) != nil)
    }
}
