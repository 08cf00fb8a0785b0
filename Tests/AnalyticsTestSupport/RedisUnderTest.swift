import Foundation
import AnalyticsRedis

/// The Redis server of the integration tests, and what a test makes on it of its own, removed when the
/// test ends (through `ServerLeftovers`).
public enum RedisUnderTest {
    /// `REDIS_URL`, or a local default.
    public static var url: String { Integration.redisURL ?? "redis://127.0.0.1:6379/0" }

    /// `REDIS_CLUSTER_URL`: a cluster (`redis+cluster://…`) the queue's suites also run on, when set.
    public static var clusterURL: String? { ProcessInfo.processInfo.environment["REDIS_CLUSTER_URL"].flatMap { $0.isEmpty ? nil : $0 } }

    /// A queue configuration under a key prefix of the test's own.
    public static func queueConfiguration() -> RedisQueueConfiguration {
        var configuration = RedisQueueConfiguration()
        configuration.keyPrefix = "test:\(UInt64.random(in: 0...UInt64.max))"
        ServerLeftovers.current?.keyPrefix(configuration.keyPrefix, on: url)
        return configuration
    }

    /// A plain client on the server, with one connection.
    public static func client() throws -> RedisClient {
        RedisClient(configuration: try RedisConfiguration(url: url), connections: 1)
    }

    /// A new ACL user with the given `ACL SETUSER` rules (its password set here); returns a URL that
    /// connects as it.
    public static func aclUser(_ rules: [String]) async throws -> String {
        let user = "test-user-\(UInt64.random(in: 0...UInt64.max))"
        ServerLeftovers.current?.aclUser(user, on: url)
        let admin = try client()
        do {
            try await admin.command(["ACL", "SETUSER", .init(user), "reset", "on", ">secret"] + rules.map { RedisArgument($0) })
        } catch {
            await admin.shutdown()
            throw error
        }
        await admin.shutdown()
        let server = try RedisConfiguration(url: url)
        return "redis://\(user):secret@\(server.host):\(server.port)/\(server.database)"
    }
}
