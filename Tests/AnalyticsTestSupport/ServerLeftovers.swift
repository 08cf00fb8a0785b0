import AnalyticsBlockingIO
import AnalyticsPostgres
import AnalyticsRedis
import Synchronization

/// What the real backends created for one test: the Postgres schemas and Redis key prefixes of its own,
/// removed by `removeAll()` once the test has ended, so that integration runs against long-lived
/// servers leave nothing behind. The backends register with `current`, which a test-scoping trait sets.
public final class ServerLeftovers: Sendable {
    @TaskLocal public static var current: ServerLeftovers?

    private let created = Mutex((schemas: [String](), keyPrefixes: [String]()))

    public init() {}

    public func schema(_ name: String) { created.withLock { $0.schemas.append(name) } }

    public func keyPrefix(_ prefix: String) { created.withLock { $0.keyPrefixes.append(prefix) } }

    /// Drops the schemas and deletes every key under the prefixes; servers that cannot be reached are
    /// left as they are.
    public func removeAll() async {
        let (schemas, keyPrefixes) = created.withLock { created in
            defer { created = ([], []) }
            return (created.schemas, created.keyPrefixes)
        }
        if !schemas.isEmpty, let url = Integration.databaseURL {
            let database = BlockingConnectionPool(size: 1) { try PostgresConnection(url: url) }
            _ = try? await database.withConnection { connection in
                for schema in schemas { try connection.execute("DROP SCHEMA IF EXISTS \"\(schema)\" CASCADE") }
            }
            await database.shutdown()
        }
        if !keyPrefixes.isEmpty, let url = Integration.redisURL, let configuration = try? RedisConfiguration(url: url) {
            let redis = RedisClient(configuration: configuration, connections: 1)
            for prefix in keyPrefixes { try? await Self.deleteKeys(under: prefix, on: redis) }
            await redis.shutdown()
        }
    }

    private static func deleteKeys(under prefix: String, on redis: RedisClient) async throws {
        var cursor = "0"
        repeat {
            let reply = try await redis.command("SCAN", .init(cursor), "MATCH", .init(prefix + ":*"), "COUNT", 1000)
            guard let parts = reply.array, parts.count == 2, let next = parts[0].text, let keys = parts[1].array else { return }
            let names = keys.compactMap(\.text)
            if !names.isEmpty { _ = try await redis.command(["DEL"] + names.map { RedisArgument($0) }) }
            cursor = next
        } while cursor != "0"
    }
}
