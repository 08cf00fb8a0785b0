import AnalyticsRedis
import Testing

/// `REDIS_URL` as users write it: host, port and database, a password for the default user, or an ACL
/// user and its password.
struct RedisConfigurationTests {
    struct Parsed: Equatable, CustomStringConvertible, Sendable {
        var host: String, port: Int, database: Int, username: String?, password: String?
        var description: String { "\(username ?? "-"):\(password ?? "-")@\(host):\(port)/\(database)" }
    }

    @Test(arguments: [
        ("redis://127.0.0.1:6379/0", Parsed(host: "127.0.0.1", port: 6379, database: 0, username: nil, password: nil)),
        ("redis://cache.internal", Parsed(host: "cache.internal", port: 6379, database: 0, username: nil, password: nil)),
        ("redis://:s3cret@10.0.0.5:6380/2", Parsed(host: "10.0.0.5", port: 6380, database: 2, username: nil, password: "s3cret")),
        ("redis://s3cret@10.0.0.5", Parsed(host: "10.0.0.5", port: 6379, database: 0, username: nil, password: "s3cret")),
        ("redis://ingest:p%40ss%3Aword@h:1/3", Parsed(host: "h", port: 1, database: 3, username: "ingest", password: "p@ss:word")),
        ("redis://default:pw@h", Parsed(host: "h", port: 6379, database: 0, username: "default", password: "pw")),
        ("redis://reader:@h", Parsed(host: "h", port: 6379, database: 0, username: "reader", password: nil)),
    ])
    func urlsAreRead(url: String, expected: Parsed) throws {
        let configuration = try RedisConfiguration(url: url)
        let parsed = Parsed(
            host: configuration.host, port: configuration.port, database: configuration.database,
            username: configuration.username, password: configuration.password)
        #expect(parsed == expected)
    }

    @Test(arguments: ["http://127.0.0.1:6379", "redis://h:port/0", "redis://h:6379/zero"])
    func badURLsAreRefused(url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }
}
