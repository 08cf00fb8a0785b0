import AnalyticsCore
import AnalyticsPostgres
import AnalyticsRedis

extension QueueBackend {
    /// `RedisStreamQueue` on `REDIS_URL`, under a key prefix of its own for each test.
    public static let redis = QueueBackend("RedisStreamQueue") { visibility in
        var configuration = RedisUnderTest.queueConfiguration()
        configuration.visibilityTimeout = visibility
        let queue = try RedisStreamQueue(url: RedisUnderTest.url, configuration: configuration)
        return QueueUnderTest(queue: queue) { try await Task.sleep(for: $0) }
    }

    /// `RedisStreamQueue` as an ACL user holding only what the least-privilege user of docs/operations.md holds: its
    /// own keys, and the stream, sorted-set, transaction, script and connection commands the queue sends.
    public static let redisLeastPrivilege = QueueBackend("RedisStreamQueue as a least-privilege user") { visibility in
        var configuration = RedisUnderTest.queueConfiguration()
        configuration.visibilityTimeout = visibility
        let url = try await RedisUnderTest.aclUser(["~\(configuration.keyPrefix):*"] + leastPrivilegeCommands)
        let queue = try RedisStreamQueue(url: url, configuration: configuration)
        return QueueUnderTest(queue: queue) { try await Task.sleep(for: $0) }
    }

    /// `RedisStreamQueue` split into three partitions on `REDIS_URL`: what a cluster's queue does, on one server.
    public static let redisPartitioned = QueueBackend("RedisStreamQueue in 3 partitions") { visibility in
        var configuration = RedisUnderTest.queueConfiguration()
        configuration.visibilityTimeout = visibility
        configuration.partitions = 3
        configuration.partitionWait = .milliseconds(50)
        let queue = try RedisStreamQueue(url: RedisUnderTest.url, configuration: configuration)
        return QueueUnderTest(queue: queue) { try await Task.sleep(for: $0) }
    }

    /// `RedisStreamQueue` on the cluster of `REDIS_CLUSTER_URL` (`redis+cluster://…`), in its default partitions.
    public static let redisCluster = QueueBackend("RedisStreamQueue on a cluster") { visibility in
        guard let url = RedisUnderTest.clusterURL else { throw RedisError.connection("REDIS_CLUSTER_URL is not set") }
        var configuration = RedisQueueConfiguration()
        configuration.keyPrefix = "test:\(UInt64.random(in: 0...UInt64.max))"
        configuration.visibilityTimeout = visibility
        configuration.partitionWait = .milliseconds(50)
        ServerLeftovers.current?.keyPrefix(configuration.keyPrefix, on: url)
        let queue = try RedisStreamQueue(url: url, configuration: configuration)
        return QueueUnderTest(queue: queue) { try await Task.sleep(for: $0) }
    }

    /// The commands of docs/operations.md's least-privilege user, as `ACL SETUSER` rules.
    public static let leastPrivilegeCommands = ["-@all", "+@stream", "+@sortedset", "+multi", "+exec", "+evalsha", "+eval", "+ping", "+select", "+@hash", "+time", "+mget", "+set"]

    static var real: [QueueBackend] {
        [redis, redisLeastPrivilege, redisPartitioned] + (RedisUnderTest.clusterURL == nil ? [] : [redisCluster])
    }
}

extension StoreBackend {
    /// `PostgresEventStore` on `DATABASE_URL`, migrated into a schema of its own for each test, storing
    /// every batch by `COPY`, however small (the suites' batches are small; the one-statement path is also
    /// the copy's fallback for redelivered events, which they exercise).
    public static let postgres = postgres("PostgresEventStore", smallestCopy: 1)

    /// The same, storing every batch in one statement, as the store does batches under `smallestCopy`.
    public static let postgresOneStatement = postgres("PostgresEventStore, one statement", smallestCopy: .max)

    private static func postgres(_ name: String, smallestCopy: Int) -> StoreBackend {
        StoreBackend(name) {
            let url = PostgresUnderTest.url
            var configuration = PostgresStoreConfiguration()
            // Mixed case, so that every statement must quote it as `migrate` does.
            let schema = "Test_\(UInt64.random(in: 0...UInt64.max))"
            configuration.schema = schema
            configuration.connections = 2
            configuration.smallestCopy = smallestCopy
            ServerLeftovers.current?.schema(schema, in: url)
            let store = PostgresEventStore(url: url, configuration: configuration)
            try await store.migrate()
            return store
        }
    }

    static var real: [StoreBackend] { [postgres, postgresOneStatement] }
}

extension RegistryBackend {
    /// `PostgresSiteRegistry` on `DATABASE_URL`, in a migrated schema of its own for each test.
    public static let postgres = RegistryBackend("PostgresSiteRegistry") {
        try await PostgresUnderTest.registry().registry
    }
}

extension PostgresUnderTest {
    /// A registry in a new, migrated schema (removed after the test), and that schema's name.
    public static func registry() async throws -> (registry: PostgresSiteRegistry, schema: String) {
        var configuration = PostgresStoreConfiguration()
        let schema = "Registry_\(UInt64.random(in: 0...UInt64.max))"
        configuration.schema = schema
        configuration.connections = 1
        ServerLeftovers.current?.schema(schema, in: url)
        let store = PostgresEventStore(url: url, configuration: configuration)
        try await store.migrate()
        await store.shutdown()
        return (PostgresSiteRegistry(url: url, schema: schema), schema)
    }
}
