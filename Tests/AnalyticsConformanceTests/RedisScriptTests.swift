import AnalyticsRedis
import AnalyticsTestSupport
import Testing

/// Scripts run from Redis's script cache by their digest, and still run once that cache is emptied.
/// `SCRIPT FLUSH` empties the cache for every client of the server, so the tests that flush it or look
/// into it are all here, one at a time; other suites only ever see their scripts sent again.
@Suite(.enabled(if: Integration.enabled, "needs ANALYTICS_INTEGRATION=1 and REDIS_URL"), .serialized, .removesServerLeftovers)
struct RedisScriptTests {
    /// A script unique to one test, so that no other test loads or flushes it meanwhile.
    private static func script(_ body: String) -> RedisScript {
        RedisScript("\(body) -- \(UInt64.random(in: 0...UInt64.max))")
    }

    /// Redis names a script by the SHA-1 of its text; the client computes the same name, whatever the
    /// length (across SHA-1's 64-byte blocks and its padding) and whatever the characters.
    @Test func aScriptIsNamedAsRedisNamesIt() async throws {
        let client = try RedisUnderTest.client()
        for length in 0...130 {
            let source = "return 1 --" + String(repeating: length % 3 == 0 ? "é" : "x", count: length)
            #expect(try await client.command("SCRIPT", "LOAD", .init(source)).text == RedisScript(source).digest, "\(length)")
        }
        await client.shutdown()
    }

    /// Once cached, a script runs by its digest alone: a user whom Redis refuses `EVAL` runs it. Before,
    /// that user cannot, because a script Redis does not know must be sent as text.
    @Test func aCachedScriptRunsByItsDigestAlone() async throws {
        let client = try RedisUnderTest.client()
        let restricted = RedisClient(
            configuration: try RedisConfiguration(url: try await RedisUnderTest.aclUser(["~*", "&*", "+@all", "-eval"])), connections: 1)
        let script = Self.script("return ARGV[1] .. KEYS[1]")

        await #expect(throws: RedisError.self) { try await restricted.evaluate(script, keys: ["b"], arguments: ["a"]) }
        #expect(try await client.evaluate(script, keys: ["b"], arguments: ["a"]).text == "ab")
        #expect(try await restricted.evaluate(script, keys: ["d"], arguments: ["c"]).text == "cd")
        await restricted.shutdown()
        await client.shutdown()
    }

    /// After `SCRIPT FLUSH` (or a restart), Redis answers the digest with `NOSCRIPT`; the call then sends
    /// the script itself, which Redis caches again.
    @Test func aScriptRunsAgainAfterTheCacheIsEmptied() async throws {
        let client = try RedisUnderTest.client()
        let script = Self.script("return tonumber(ARGV[1]) + 1")
        #expect(try await client.evaluate(script, keys: [], arguments: ["1"]).integer == 2)
        let digest = script.digest
        try await client.command("SCRIPT", "FLUSH")
        #expect(try await client.command("SCRIPT", "EXISTS", .init(digest)).array == [.integer(0)])

        #expect(try await client.evaluate(script, keys: [], arguments: ["41"]).integer == 42)
        #expect(try await client.command("SCRIPT", "EXISTS", .init(digest)).array == [.integer(1)])
        await client.shutdown()
    }

    /// A script's own error is thrown as Redis gave it, and the script is not run again, even when the
    /// error begins with the code of a missing script.
    @Test(arguments: ["failed on purpose", "NOSCRIPT failed on purpose"])
    func aScriptsErrorIsThrownAndNotRetried(message error: String) async throws {
        let client = try RedisUnderTest.client()
        let key = RedisArgument("test:script:\(UInt64.random(in: 0...UInt64.max))")
        let script = Self.script("redis.call('INCR', KEYS[1]) return redis.error_reply('\(error)')")
        // The first call finds the script missing and sends its text; the second runs it by digest.
        for _ in 1...2 {
            await #expect {
                try await client.evaluate(script, keys: [key], arguments: [])
            } throws: { thrown in
                guard case RedisError.server(let message) = thrown else { return false }
                return message.contains(error)
            }
        }
        #expect(try await client.command("GET", key).text == "2")
        try await client.command("DEL", key)
        await client.shutdown()
    }

    /// The queue's scripts run from Redis's script cache by digest; once the cache is emptied (as by a
    /// restart), the next reads and acknowledgements send them again and still work.
    @Test func scriptsRunAfterTheScriptCacheIsEmptied() async throws {
        let configuration = RedisUnderTest.queueConfiguration()
        let queue = try RedisStreamQueue(url: RedisUnderTest.url, configuration: configuration)
        let raw = try RedisUnderTest.client()
        let stream = configuration.keyPrefix + ":events"
        try await queue.enqueue(makeEvents(4, site: "flushed"))
        let first = try await queue.reserve(consumer: "reader", max: 2, wait: .zero)
        try await queue.ack(first.map(\.id))
        try await raw.command("SCRIPT", "FLUSH")

        let rest = try await queue.reserve(consumer: "reader", max: 2, wait: .zero)
        #expect(rest.count == 2)
        try await raw.command("SCRIPT", "FLUSH")
        try await queue.ack(rest.map(\.id))
        #expect(try await raw.command("XLEN", .init(stream)).integer == 0)
        #expect(try await queue.depth().backlog == 0)
        await raw.shutdown()
        await queue.shutdown()
    }
}
