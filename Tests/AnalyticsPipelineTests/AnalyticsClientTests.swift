import AnalyticsClient
import AnalyticsCore
import AnalyticsHTTP
import AnalyticsInMemory
import AnalyticsSpec
import AnalyticsTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// The Swift client against a live ingestion server: batches, validation before sending, retries that
/// honour `Retry-After`, and the flush on graceful shutdown.
@Suite struct AnalyticsClientTests {
    static func client(
        _ port: Int?, logs: LogCapture = LogCapture(), configure: (inout AnalyticsClientConfiguration) -> Void = { _ in }
    ) throws -> AnalyticsClient {
        var configuration = AnalyticsClientConfiguration(serverURL: URL(string: "http://127.0.0.1:\(try #require(port))")!)
        configuration.initialDelay = .milliseconds(20)
        configure(&configuration)
        return AnalyticsClient(configuration: configuration, logger: logs.logger())
    }

    /// A loaded registry with one site, `keyed`, whose write key is `wk_right`.
    static func keyedSite() async throws -> SiteRegistryView {
        let registry = InMemorySiteRegistry()
        try await registry.addSite("keyed", origins: [], at: 1)
        try await registry.setWriteKey(SecretDigest(of: "wk_right"), forSite: "keyed")
        let view = SiteRegistryView(registry: registry)
        try await view.refresh()
        return view
    }

    @Test func sendsEveryEventInBatchesWithTheIDsItGave() async throws {
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(.live) { server in
            let client = try Self.client(server.port) { $0.batchSize = 500 }
            var ids: [EventID] = []
            for index in 0..<1_200 {
                ids.append(try await client.send(site: "demo", type: "Order Completed", path: "/p\(index % 7)", user: "u\(index % 13)"))
            }
            try await client.flush()
            #expect(await client.buffered == 0)
            let queued = try await pipeline.queued()
            #expect(queued.map(\.id) == ids)
            #expect(Set(queued.map(\.eventType)) == ["Order Completed"])
        }
    }

    @Test func anInvalidEventIsRefusedBeforeItIsSent() async throws {
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(.live) { server in
            let client = try Self.client(server.port)
            await #expect(throws: ContractViolation.self) { try await client.send(site: "", type: "view", path: "no-slash") }
            do {
                try await client.send(site: "", type: "view", path: "no-slash")
            } catch let violation as ContractViolation {
                #expect(Set(violation.details.map(\.instancePath.description)) == ["/site_id", "/path"])
            }
            #expect(await client.buffered == 0)
            try await client.flush()
        }
        #expect(try await pipeline.queued().isEmpty)
    }

    /// A site over its rate limit answers 429 with Retry-After: the client waits at least that long, and
    /// every event arrives once.
    @Test func retriesHonourRetryAfter() async throws {
        // The buckets refill on the queue's clock: the system's here.
        let queue = InMemoryQueue(clock: SystemClock())
        var configuration = IngestionConfiguration()
        configuration.rateLimits = RateLimits(site: RateLimit(perSecond: 5, burst: 5))
        let app = Applications.ingestion(queue: queue, clock: SystemClock(), configuration: configuration, logger: Logger(label: "test"))
        try await app.test(.live) { server in
            let client = try Self.client(server.port) { $0.batchSize = 5 }
            for index in 0..<10 { try await client.send(site: "demo", type: "view", path: "/\(index)") }
            let start = ContinuousClock.now
            try await client.flush()
            let elapsed = ContinuousClock.now - start
            #expect(elapsed >= .seconds(1), "the second batch waited for Retry-After (took \(elapsed))")
        }
        #expect(try await queue.reserve(consumer: "inspector", max: 100, wait: .zero).count == 10)
    }

    /// While the queue is down ingestion answers 503: the client retries until it is back.
    @Test func retriesWhileTheQueueIsDown() async throws {
        let pipeline = Pipeline()
        pipeline.queue.setDown(true)
        try await pipeline.ingestion().test(.live) { server in
            let client = try Self.client(server.port)
            try await client.send(site: "demo", type: "view", path: "/")
            let flushed = Task { try await client.flush() }
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await pipeline.queue.base.depth().backlog == 0)
            pipeline.queue.setDown(false)
            try await flushed.value
        }
        #expect(try await pipeline.queued().count == 1)
    }

    @Test func aRefusedBatchIsReportedAndDropped() async throws {
        let view = try await Self.keyedSite()
        let pipeline = Pipeline()
        let app = Applications.ingestion(
            queue: pipeline.queue, clock: pipeline.clock, access: IngestionAccess(view: view, sites: .registered), logger: Logger(label: "test"))
        try await app.test(.live) { server in
            let wrong = try Self.client(server.port) { $0.writeKey = "wk_wrong" }
            try await wrong.send(site: "keyed", type: "view", path: "/")
            await #expect(throws: AnalyticsClientError.self) { try await wrong.flush() }
            #expect(await wrong.buffered == 0)
            let right = try Self.client(server.port) { $0.writeKey = "wk_right" }
            try await right.send(site: "keyed", type: "view", path: "/")
            try await right.flush()
        }
        #expect(try await pipeline.queued().map(\.siteID) == ["keyed"])
    }

    /// As a service, the client sends what is buffered when the group shuts down gracefully.
    @Test func flushesOnGracefulShutdown() async throws {
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(.live) { server in
            let client = try Self.client(server.port) { $0.flushInterval = .seconds(3600) }
            let group = ServiceGroup(services: [client], gracefulShutdownSignals: [], cancellationSignals: [], logger: Logger(label: "test"))
            let running = Task { try await group.run() }
            for index in 0..<42 { try await client.send(site: "demo", type: "view", path: "/\(index)") }
            #expect(try await pipeline.queued().isEmpty, "nothing sent before the interval or a full batch")
            await group.triggerGracefulShutdown()
            try await running.value
            await #expect(throws: AnalyticsClientError.shutDown) { try await client.send(site: "demo", type: "view", path: "/") }
        }
        #expect(try await pipeline.queued().count == 42)
    }

    /// One event the server refuses (a site the key does not write) costs only itself: the batch is split
    /// until it is alone, the others arrive, and the refusal is reported.
    @Test func aRefusedEventCostsOnlyItself() async throws {
        let view = try await Self.keyedSite()
        let pipeline = Pipeline()
        let drops = Mutex<[AnalyticsClientError]>([])
        let app = Applications.ingestion(
            queue: pipeline.queue, clock: pipeline.clock, access: IngestionAccess(view: view, sites: .registered), logger: Logger(label: "test"))
        try await app.test(.live) { server in
            let client = try Self.client(server.port) { configuration in
                configuration.writeKey = "wk_right"
                configuration.onDrop = { error in drops.withLock { $0.append(error) } }
            }
            for index in 0..<7 { try await client.send(site: index == 4 ? "unregistered" : "keyed", type: "view", path: "/\(index)") }
            await #expect(throws: AnalyticsClientError.rejected(status: 403, message: "1 of 1 events refused; none was taken", events: 1)) {
                try await client.flush()
            }
        }
        #expect(try await pipeline.queued().map(\.path) == ["/0", "/1", "/2", "/3", "/5", "/6"])
        #expect(drops.withLock { $0.count } == 1)
    }

    /// Batches are cut by bytes as well as by count: 500 events of 1.5 KB each (800 KB) never make the
    /// server's 413 at its 512 KiB, so no batch is split. A server that takes less answers 413, and the
    /// client splits until its batches fit: every event still arrives.
    @Test(arguments: [512 * 1024, 100 * 1024])
    func batchesStayWithinTheServersBodyLimit(_ serverLimit: Int) async throws {
        let pipeline = Pipeline()
        let logs = LogCapture()
        var configuration = IngestionConfiguration()
        configuration.maximumBatchBytes = serverLimit
        try await pipeline.ingestion(configuration).test(.live) { server in
            let client = try Self.client(server.port, logs: logs) { $0.batchSize = 1000 }
            let path = "/" + String(repeating: "a/b", count: 500)
            for _ in 0..<500 { try await client.send(site: "demo", type: "view", path: path) }
            try await client.flush()
        }
        #expect(try await pipeline.queued().count == 500)
        let splits = logs.recorded.filter { $0.message.contains("splitting") }
        #expect(splits.isEmpty == (serverLimit == 512 * 1024), "\(splits.count) splits")
    }

    /// While the server cannot take anything, shutdown gives up after its timeout and says what it dropped.
    @Test func shutdownGivesUpAfterItsTimeout() async throws {
        let pipeline = Pipeline()
        pipeline.queue.setDown(true)
        try await pipeline.ingestion().test(.live) { server in
            let client = try Self.client(server.port) { configuration in
                configuration.shutdownTimeout = .milliseconds(500)
                configuration.maximumAttempts = 1000
            }
            for index in 0..<3 { try await client.send(site: "demo", type: "view", path: "/\(index)") }
            let start = ContinuousClock.now
            await #expect(throws: AnalyticsClientError.shutdownTimedOut(events: 3)) { try await client.shutdown() }
            // Far below the hours 1,000 attempts would take, and far above a loaded machine's stalls.
            #expect(ContinuousClock.now - start < .seconds(30))
        }
    }

    /// A refusal no split can help (one site, a wrong key) drops the batch in one piece, and shutdown
    /// reports it.
    @Test func aBatchRefusedForItsOneSiteIsDroppedWhole() async throws {
        let view = try await Self.keyedSite()
        let pipeline = Pipeline()
        let logs = LogCapture()
        let app = Applications.ingestion(
            queue: pipeline.queue, clock: pipeline.clock, access: IngestionAccess(view: view, sites: .registered), logger: Logger(label: "test"))
        try await app.test(.live) { server in
            let client = try Self.client(server.port, logs: logs) { $0.writeKey = "wk_wrong" }
            for index in 0..<7 { try await client.send(site: "keyed", type: "view", path: "/\(index)") }
            await #expect(throws: AnalyticsClientError.rejected(status: 401, message: "7 of 7 events refused; none was taken", events: 7)) { try await client.shutdown() }
        }
        #expect(logs.recorded.filter { $0.message.contains("splitting") }.isEmpty)
        #expect(try await pipeline.queued().isEmpty)
    }

    /// A shutdown whose caller is cancelled stops at once, whatever is left.
    @Test func aCancelledShutdownStopsAtOnce() async throws {
        let pipeline = Pipeline()
        pipeline.queue.setDown(true)
        try await pipeline.ingestion().test(.live) { server in
            let client = try Self.client(server.port) { configuration in
                configuration.shutdownTimeout = .seconds(3600)
                configuration.maximumAttempts = 1000
            }
            try await client.send(site: "demo", type: "view", path: "/")
            let start = ContinuousClock.now
            let stopping = Task { try await client.shutdown() }
            try await Task.sleep(for: .milliseconds(200))
            stopping.cancel()
            await #expect(throws: AnalyticsClientError.shutdownTimedOut(events: 1)) { try await stopping.value }
            // Far below the hours 1,000 attempts would take, and far above a loaded machine's stalls.
            #expect(ContinuousClock.now - start < .seconds(30))
        }
    }
}
