import AnalyticsRedis
import AnalyticsTestSupport
import Testing

/// Scripts run from Redis's script cache by their digest, and still run once that cache is emptied.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and REDIS_URL"))
struct RedisScriptTests {
    private static func client() throws -> RedisClient {
        RedisClient(configuration: try RedisConfiguration(url: Integration.redisURL ?? "redis://127.0.0.1:6379/0"), connections: 1)
    }

    /// A script unique to one test, so that no other test loads or flushes it meanwhile.
    private static func script(_ body: String) -> RedisScript {
        RedisScript("\(body) -- \(UInt64.random(in: 0...UInt64.max))")
    }

    @Test func aScriptRunsByTheDigestRedisGaveIt() async throws {
        let client = try Self.client()
        let script = Self.script("return {KEYS[1], ARGV[1], ARGV[2]}")
        #expect(script.digest == nil)
        let reply = try await client.evaluate(script, keys: ["key"], arguments: ["first", "second"])
        #expect(reply.array?.compactMap(\.text) == ["key", "first", "second"])
        let digest = try #require(script.digest)
        #expect(try await client.command("SCRIPT", "LOAD", .init(script.source)).text == digest)
        #expect(try await client.command("EVALSHA", .init(digest), "1", "k", "a", "b").array?.compactMap(\.text) == ["k", "a", "b"])
        await client.shutdown()
    }

    /// After `SCRIPT FLUSH` (or a restart), Redis answers the digest with `NOSCRIPT`; the call then sends
    /// the script itself, which Redis caches again.
    @Test func aScriptRunsAgainAfterTheCacheIsEmptied() async throws {
        let client = try Self.client()
        let script = Self.script("return tonumber(ARGV[1]) + 1")
        #expect(try await client.evaluate(script, keys: [], arguments: ["1"]).integer == 2)
        let digest = try #require(script.digest)
        try await client.command("SCRIPT", "FLUSH")
        #expect(try await client.command("SCRIPT", "EXISTS", .init(digest)).array == [.integer(0)])

        #expect(try await client.evaluate(script, keys: [], arguments: ["41"]).integer == 42)
        #expect(try await client.command("SCRIPT", "EXISTS", .init(digest)).array == [.integer(1)])
        await client.shutdown()
    }

    /// A script's own error is thrown as Redis gave it, and the script is not run again.
    @Test func aScriptsErrorIsThrownAndNotRetried() async throws {
        let client = try Self.client()
        let key = RedisArgument("test:script:\(UInt64.random(in: 0...UInt64.max))")
        let script = Self.script("redis.call('INCR', KEYS[1]) return redis.error_reply('failed on purpose')")
        await #expect {
            try await client.evaluate(script, keys: [key], arguments: [])
        } throws: { error in
            guard case RedisError.server(let message) = error else { return false }
            return message.contains("failed on purpose")
        }
        #expect(try await client.command("GET", key).text == "1")
        try await client.command("DEL", key)
        await client.shutdown()
    }
}
