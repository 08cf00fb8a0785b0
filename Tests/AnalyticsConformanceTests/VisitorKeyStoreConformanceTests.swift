import AnalyticsCore
import AnalyticsRedis
import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Synchronization
import Testing

/// Two handles on one store of daily visitor keys (two ingestion processes), and a way to ask how long
/// a day's key is kept.
struct VisitorKeyBackend: Sendable, CustomTestStringConvertible {
    let testDescription: String
    let make: @Sendable () async throws -> (first: any VisitorKeyStore, second: any VisitorKeyStore, lifetime: @Sendable (CalendarDate) async throws -> Int?)

    static let inMemory = VisitorKeyBackend(testDescription: "InMemoryVisitorKeyStore") {
        let store = InMemoryVisitorKeyStore()
        return (store, store, { _ in nil })
    }

    static let redis = VisitorKeyBackend(testDescription: "RedisVisitorKeyStore") {
        let prefix = RedisUnderTest.queueConfiguration().keyPrefix
        let first = try RedisVisitorKeyStore(url: RedisUnderTest.url, keyPrefix: prefix)
        let second = try RedisVisitorKeyStore(url: RedisUnderTest.url, keyPrefix: prefix)
        return (first, second, { day in
            let client = try RedisUnderTest.client()
            defer { Task { await client.shutdown() } }
            guard case .integer(let seconds) = try await client.command(["TTL", .init("\(prefix):visitor-key:\(day)")]) else { return nil }
            return seconds
        })
    }

    /// On the cluster of `REDIS_CLUSTER_URL`: each day's key on the master of its slot.
    static let redisCluster = VisitorKeyBackend(testDescription: "RedisVisitorKeyStore on a cluster") {
        guard let url = RedisUnderTest.clusterURL else { throw RedisError.connection("REDIS_CLUSTER_URL is not set") }
        let prefix = "test:\(UInt64.random(in: 0...UInt64.max))"
        ServerLeftovers.current?.keyPrefix(prefix, on: url)
        let first = try RedisVisitorKeyStore(url: url, keyPrefix: prefix)
        let second = try RedisVisitorKeyStore(url: url, keyPrefix: prefix)
        return (first, second, { day in
            // Asked of every master: the one holding the key's slot answers, the others redirect.
            for master in try await RedisCluster.masters(of: try RedisConfiguration(url: url)) {
                let client = RedisClient(configuration: master, connections: 1)
                defer { Task { await client.shutdown() } }
                if case .integer(let seconds) = try? await client.command(["TTL", .init("\(prefix):visitor-key:\(day)")]) { return seconds }
            }
            return nil
        })
    }

    static var all: [VisitorKeyBackend] {
        [inMemory] + (Integration.enabled ? [redis] + (RedisUnderTest.clusterURL == nil ? [] : [redisCluster]) : [])
    }
}

@Suite(.removesServerLeftovers) struct VisitorKeyStoreConformanceTests {
    let today = CalendarDate(year: 2026, month: 11, day: 30)
    let tomorrow = CalendarDate(year: 2026, month: 12, day: 1)

    @Test(arguments: VisitorKeyBackend.all)
    func everyProcessGetsTheSameKeyForADayAndANewOneTheNextDay(_ backend: VisitorKeyBackend) async throws {
        let (first, second, lifetime) = try await backend.make()
        let key = try await first.key(for: today)
        #expect(key.count == VisitorKeys.keyBytes)
        #expect(try await second.key(for: today) == key)
        #expect(try await first.key(for: today) == key)
        let next = try await second.key(for: tomorrow)
        #expect(next != key && next.count == VisitorKeys.keyBytes)
        #expect(try await first.key(for: tomorrow) == next)
        if let seconds = try await lifetime(today) {
            #expect(seconds > 0 && seconds <= 2 * 86_400, "kept \(seconds) s")
        }
    }

    /// Processes racing on the first hit of a day all end up with one key.
    @Test(arguments: VisitorKeyBackend.all)
    func racingProcessesAgree(_ backend: VisitorKeyBackend) async throws {
        let (first, second, _) = try await backend.make()
        let keys = try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for index in 0..<16 { group.addTask { try await (index % 2 == 0 ? first : second).key(for: today) } }
            return try await group.reduce(into: Set<[UInt8]>()) { $0.insert($1) }
        }
        #expect(keys.count == 1)
    }

    /// A process reads the day's key once a minute at most, one read at a time, and again after a minute:
    /// a key the store lost and made anew reaches every process within that minute.
    @Test func aProcessReadsTheKeyOnceAMinuteAndFollowsTheStore() async throws {
        final class CountingStore: VisitorKeyStore {
            let reads = Mutex(0)
            let key = Mutex([UInt8](repeating: 1, count: 32))
            func key(for day: CalendarDate) async throws -> [UInt8] {
                reads.withLock { $0 += 1 }
                try await Task.sleep(for: .milliseconds(20))
                return key.withLock { $0 }
            }
        }
        let store = CountingStore()
        let clock = ManualClock()
        let keys = VisitorKeys(store: store, clock: clock)
        try await withThrowingTaskGroup(of: [UInt8].self) { group in
            for _ in 0..<20 { group.addTask { try await keys.key(for: today) } }
            for try await key in group { #expect(key == [UInt8](repeating: 1, count: 32)) }
        }
        #expect(store.reads.withLock { $0 } == 1)
        store.key.withLock { $0 = [UInt8](repeating: 2, count: 32) }
        clock.advance(by: .seconds(59))
        #expect(try await keys.key(for: today) == [UInt8](repeating: 1, count: 32))
        clock.advance(by: .seconds(2))
        #expect(try await keys.key(for: today) == [UInt8](repeating: 2, count: 32))
        #expect(try await keys.key(for: tomorrow) == [UInt8](repeating: 2, count: 32))
        #expect(store.reads.withLock { $0 } == 3)
    }

    /// While the store is away, the day's key read earlier still serves; another day's does not.
    @Test func theDaysKeyOutlivesAStoreOutage() async throws {
        final class FlakyStore: VisitorKeyStore {
            let down = Mutex(false)
            func key(for day: CalendarDate) async throws -> [UInt8] {
                if down.withLock({ $0 }) { throw QueueUnavailable("down") }
                return [UInt8](repeating: 3, count: 32)
            }
        }
        let store = FlakyStore()
        let clock = ManualClock()
        let keys = VisitorKeys(store: store, clock: clock)
        #expect(try await keys.key(for: today) == [UInt8](repeating: 3, count: 32))
        store.down.withLock { $0 = true }
        clock.advance(by: .seconds(120))
        #expect(try await keys.key(for: today) == [UInt8](repeating: 3, count: 32))
        await #expect(throws: QueueUnavailable.self) { try await keys.key(for: tomorrow) }
    }

    @Test func visitorIDsAreTheKeyedHashTheDocsState() {
        // Python: "v" + hmac.new(bytes([7] * 32), b"demo\n" + bytes([192, 0, 2, 1]) + b"\nMozilla/5.0", "sha256").hexdigest()[:32]
        let key = [UInt8](repeating: 7, count: 32)
        let id = VisitorKeys.visitor(key: key, site: "demo", address: [192, 0, 2, 1], userAgent: "Mozilla/5.0")
        #expect(id == "vabf8a041de37c0caa0070167411709eb")
        #expect(VisitorKeys.visitor(key: key, site: "demo", address: [192, 0, 2, 1], userAgent: "Mozilla/5.0") == id)
        #expect(VisitorKeys.visitor(key: key, site: "other", address: [192, 0, 2, 1], userAgent: "Mozilla/5.0") != id)
        #expect(VisitorKeys.visitor(key: key, site: "demo", address: [192, 0, 2, 2], userAgent: "Mozilla/5.0") != id)
        #expect(VisitorKeys.visitor(key: key, site: "demo", address: [192, 0, 2, 1], userAgent: "Mozilla/5.1") != id)
        #expect(VisitorKeys.visitor(key: [UInt8](repeating: 8, count: 32), site: "demo", address: [192, 0, 2, 1], userAgent: "Mozilla/5.0") != id)
    }
}
