import AnalyticsRedis
import Synchronization

/// What the real backends created for one test: the Postgres schemas, Redis key prefixes and ACL users of its own,
/// removed by `removeAll()` once the test has ended, so that integration runs against long-lived
/// servers leave nothing behind. The backends register with `current`, which a test-scoping trait sets.
public final class ServerLeftovers: Sendable {
    @TaskLocal public static var current: ServerLeftovers?

    private let created = Mutex(
        (schemas: [(name: String, url: String)](), keyPrefixes: [(prefix: String, url: String)](), aclUsers: [(name: String, url: String)]()))

    public init() {}

    public func schema(_ name: String, in databaseURL: String) {
        created.withLock { $0.schemas.append((name, databaseURL)) }
    }

    public func keyPrefix(_ prefix: String, on redisURL: String) {
        created.withLock { $0.keyPrefixes.append((prefix, redisURL)) }
    }

    public func aclUser(_ name: String, on redisURL: String) {
        created.withLock { $0.aclUsers.append((name, redisURL)) }
    }

    /// Drops the schemas, deletes every key under the prefixes and the ACL users; servers that cannot be
    /// reached are left as they are.
    public func removeAll() async {
        let (schemas, keyPrefixes, aclUsers) = created.withLock { created in
            defer { created = ([], [], []) }
            return created
        }
        for (name, url) in schemas {
            try? await PostgresUnderTest.execute("DROP SCHEMA IF EXISTS \"\(name)\" CASCADE", on: url)
        }
        for (prefix, url) in keyPrefixes {
            guard let configuration = try? RedisConfiguration(url: url),
                  let masters = try? await RedisCluster.masters(of: configuration) else { continue }
            for master in masters {
                let redis = RedisClient(configuration: master, connections: 1)
                try? await Self.deleteKeys(under: prefix, on: redis)
                await redis.shutdown()
            }
        }
        for (name, url) in aclUsers {
            guard let configuration = try? RedisConfiguration(url: url) else { continue }
            let redis = RedisClient(configuration: configuration, connections: 1)
            _ = try? await redis.command("ACL", "DELUSER", .init(name))
            await redis.shutdown()
        }
    }

    private static func deleteKeys(under prefix: String, on redis: RedisClient) async throws {
        var cursor = "0"
        repeat {
            let reply = try await redis.command("SCAN", .init(cursor), "MATCH", .init(prefix + ":*"), "COUNT", 1000)
            guard let parts = reply.array, parts.count == 2, let next = parts[0].text, let keys = parts[1].array else { return }
            let names = keys.compactMap(\.text)
            // One DEL a key: a cluster's node refuses one that names keys of several slots.
            if !names.isEmpty { _ = try await redis.pipeline(names.map { ["DEL", RedisArgument($0)] }) }
            cursor = next
        } while cursor != "0"
    }
}
