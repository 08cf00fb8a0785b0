import AnalyticsCore
import AnalyticsPostgres
import AnalyticsRedis

extension QueueBackend {
    /// `RedisStreamQueue` on `REDIS_URL`, under a key prefix of its own for each test.
    public static let redis = QueueBackend("RedisStreamQueue") { visibility in
        var configuration = RedisQueueConfiguration()
        configuration.keyPrefix = "test:\(UInt64.random(in: 0...UInt64.max))"
        configuration.visibilityTimeout = visibility
        ServerLeftovers.current?.keyPrefix(configuration.keyPrefix)
        let queue = try RedisStreamQueue(url: Integration.redisURL ?? "redis://127.0.0.1:6379/0", configuration: configuration)
        return QueueUnderTest(queue: queue) { try await Task.sleep(for: $0) }
    }

    static var real: [QueueBackend] { [redis] }
}

extension StoreBackend {
    /// `PostgresEventStore` on `DATABASE_URL`, migrated into a schema of its own for each test.
    public static let postgres = StoreBackend("PostgresEventStore") {
        var configuration = PostgresStoreConfiguration()
        let schema = "test_\(UInt64.random(in: 0...UInt64.max))"
        configuration.schema = schema
        configuration.connections = 2
        ServerLeftovers.current?.schema(schema)
        let store = PostgresEventStore(
            url: Integration.databaseURL ?? "postgres://analytics@127.0.0.1:5432/analytics", configuration: configuration)
        try await store.migrate()
        return store
    }

    static var real: [StoreBackend] { [postgres] }
}
