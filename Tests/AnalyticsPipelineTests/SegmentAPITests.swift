import AnalyticsCore
import AnalyticsHTTP
import AnalyticsInMemory
import AnalyticsSpec
import AnalyticsTestSupport
import CompressNIO
import Foundation
import Hummingbird
import HummingbirdTesting
import JSONSchemaValidation
import Logging
import MetricsTestKit
import NIOCore
import Testing

extension SegmentCase: CustomTestStringConvertible {}

/// Segment's HTTP Tracking API over HTTP: the golden cases of fixtures/segment, write keys, sizes, gzip
/// and the count of the messages that do not become events.
@Suite(.removesServerLeftovers) struct SegmentAPITests {
    static func basic(_ key: String, encoding: String? = nil) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json", .authorization: "Basic " + Data("\(key):".utf8).base64EncodedString()]
        if let encoding { headers[.contentEncoding] = encoding }
        return headers
    }

    static let track = #"{"userId":"u1","event":"Order Completed","messageId":"m-1","timestamp":"2025-11-14T10:00:00Z"}"#

    /// Every golden case, sent to its endpoint with the site as the write key at the case's instant.
    @Test(arguments: SegmentCase.all)
    func everyGoldenCaseOverHTTP(_ golden: SegmentCase) async throws {
        let clock = ManualClock(now: golden.receivedAt)
        let queue = InMemoryQueue(clock: clock)
        let app = Applications.ingestion(queue: queue, clock: clock, logger: Logger(label: "test"))
        try await app.test(.router) { client in
            try await client.execute(
                uri: "/v1/\(golden.endpoint)", method: .post, headers: Self.basic(golden.site), body: ByteBuffer(bytes: golden.bodyBytes)
            ) { response in
                if golden.accepted {
                    #expect(response.status == .ok, "\(response.text)")
                    #expect(response.text == #"{"success":true}"#)
                } else {
                    #expect(response.status == .badRequest)
                    #expect(response.violations.sorted() == golden.errors)
                    #expect(Contract.embedded.error.validate(response.json).isEmpty)
                }
            }
        }
        let queued = try await queue.reserve(consumer: "inspector", max: 10_000, wait: .zero).map(\.event)
        #expect(queued.map(EventCodec.json) == (golden.accepted ? golden.events : []))
    }

    @Test(arguments: setups)
    func theWriteKeyComesFromBasicOrTheBodyAndIsRequired(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/v1/track", method: .post, headers: jsonHeaders, body: ByteBuffer(string: Self.track)) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == #"Basic realm="analytics""#)
                #expect(Contract.embedded.error.validate(response.json).isEmpty)
            }
            var bearer = jsonHeaders
            bearer[.authorization] = "Bearer demo"
            try await client.execute(uri: "/v1/track", method: .post, headers: bearer, body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .unauthorized)
            }
            // A key in the shape of a write key that no site has is never taken as a site's name.
            let stray = Credentials.newWriteKey()
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic(stray), body: ByteBuffer(string: Self.track)) { response in
                #expect(response.status == .unauthorized)
                #expect(!response.text.contains(stray))
            }
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic("not a site"), body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .unauthorized)
            }
            // Nor a read token, nor what looks like another service's write key.
            for secret in [Credentials.newReadToken().token, "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9"] {
                try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic(secret), body: ByteBuffer(string: Self.track)) { response in
                    #expect(response.status == .unauthorized)
                    #expect(!response.text.contains(secret))
                }
            }
            // An empty user name leaves the body's writeKey to name the site.
            let keyInBody = #"{"writeKey":"demo","userId":"u1","event":"e","messageId":"m-9"}"#
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic(""), body: ByteBuffer(string: keyInBody)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic("demo"), body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .ok)
            }
            let inBody = #"{"writeKey":"shop","batch":[{"type":"page","anonymousId":"a1","messageId":"p-1"}]}"#
            try await client.execute(uri: "/v1/batch", method: .post, headers: jsonHeaders, body: ByteBuffer(string: inBody)) {
                #expect($0.status == .ok)
            }
        }
        #expect(try await pipeline.queued().map(\.siteID) == ["demo", "demo", "shop"])
    }

    /// Before the registry is loaded, a key that can only be a site's write key is a 503 the libraries
    /// retry, not a 401 they would drop the batch for.
    @Test func aKeyIsNotJudgedBeforeTheRegistryIsLoaded() async throws {
        let pipeline = Pipeline()
        let view = SiteRegistryView(registry: InMemorySiteRegistry())
        let app = Applications.ingestion(
            queue: pipeline.queue, clock: pipeline.clock, access: IngestionAccess(view: view, sites: .any), logger: Logger(label: "test"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic(Credentials.newWriteKey()), body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .serviceUnavailable)
                #expect($0.headers[.retryAfter] == "1")
            }
            // A site's id is judged as `any` judges sites before the registry is loaded: taken.
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic("demo"), body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test(arguments: AccessTests.cases)
    func aRegisteredWriteKeyNamesItsSite(_ setup: TestingSetup, _ backend: RegistryBackend) async throws {
        let fixture = try await AccessTests.Fixture(backend)
        let pipeline = Pipeline()
        let app = Applications.ingestion(
            queue: pipeline.queue, clock: pipeline.clock, access: IngestionAccess(view: fixture.view, sites: .registered), logger: Logger(label: "test"))
        try await app.test(setup) { client in
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic(fixture.writeKey), body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .ok)
            }
            // A registered site without a key is named by its id; one with a key is not.
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic("a"), body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic("server"), body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .unauthorized)
            }
            // In `registered` mode a key that is no site's is a 401, not a new site.
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic("elsewhere"), body: ByteBuffer(string: Self.track)) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == #"Basic realm="analytics""#)
            }
            // A browser at a site's listed origin still needs the key to name the site.
            var fromShop = Self.basic("shop")
            fromShop[.origin] = "https://elsewhere.example"
            try await client.execute(uri: "/v1/track", method: .post, headers: fromShop, body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .forbidden)
            }
        }
        // Both took the same messageId: distinct events, because the sites differ.
        let queued = try await pipeline.queued()
        #expect(queued.map(\.siteID) == ["server", "a"])
        #expect(Set(queued.map(\.id)).count == 2)
    }

    @Test(arguments: setups)
    func sizesAsSegmentAnswersThem(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        let big = #"{"userId":"u1","event":"x","properties":{"blob":""# + String(repeating: "x", count: 33 * 1024) + #""}}"#
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/v1/track", method: .post, headers: Self.basic("demo"), body: ByteBuffer(string: big)) { response in
                #expect(response.status == .badRequest)
                #expect(response.json["error"]?.stringValue?.contains("32 KiB") == true)
            }
            let message = #"{"type":"track","userId":"u1","event":"x","properties":{"blob":""# + String(repeating: "x", count: 30 * 1024) + #""}}"#
            let batch = #"{"batch":["# + Array(repeating: message, count: 17).joined(separator: ",") + "]}"
            try await client.execute(uri: "/v1/batch", method: .post, headers: Self.basic("demo"), body: ByteBuffer(string: batch)) { response in
                #expect(response.status == .badRequest)
                #expect(response.json["error"]?.stringValue?.contains("500 KiB") == true)
            }
            var form = Self.basic("demo")
            form[.contentType] = "application/x-www-form-urlencoded"
            try await client.execute(uri: "/v1/track", method: .post, headers: form, body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .unsupportedMediaType)
            }
            var text = Self.basic("demo")
            text[.contentType] = "text/plain;charset=UTF-8"
            try await client.execute(uri: "/v1/track", method: .post, headers: text, body: ByteBuffer(string: Self.track)) {
                #expect($0.status == .ok)
            }
        }
        #expect(try await pipeline.queued().count == 1)
    }

    @Test(arguments: setups)
    func gzipBodiesAreInflatedUpToTheLimitAndNoFurther(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        let gzip = Self.basic("demo", encoding: "gzip")
        let batch = #"{"batch":[{"type":"track","userId":"u1","event":"zipped","messageId":"z-1"},{"type":"identify","userId":"u1"}]}"#
        // 10 MiB of spaces inside a valid JSON document: 10 KiB gzipped.
        let bomb = #"{"batch":[{"type":"track","userId":"u1","event":"bomb","messageId":"z-2"}]"# + String(repeating: " ", count: 10 << 20) + "}"
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/v1/batch", method: .post, headers: gzip, body: try Self.gzipped(batch)) { response in
                #expect(response.status == .ok, "\(response.text)")
            }
            let compressed = try Self.gzipped(bomb)
            #expect(compressed.readableBytes < 64 * 1024)
            try await client.execute(uri: "/v1/batch", method: .post, headers: gzip, body: compressed) { response in
                #expect(response.status == .contentTooLarge)
                #expect(Contract.embedded.error.validate(response.json).isEmpty)
            }
            try await client.execute(uri: "/v1/batch", method: .post, headers: gzip, body: ByteBuffer(string: batch)) {
                #expect($0.status == .badRequest)
            }
            // Bytes after the stream, a cut-off trailer: not one whole gzip stream.
            var trailing = try Self.gzipped(batch)
            trailing.writeString("garbage")
            try await client.execute(uri: "/v1/batch", method: .post, headers: gzip, body: trailing) { #expect($0.status == .badRequest) }
            let whole = try Self.gzipped(batch)
            try await client.execute(uri: "/v1/batch", method: .post, headers: gzip, body: whole.getSlice(at: 0, length: whole.readableBytes - 4)!) {
                #expect($0.status == .badRequest)
            }
            // Just over the limit once inflated (whitespace the message-size check would not count): 413.
            let justOver = #"{"batch":[{"type":"track","userId":"u1","event":"over","messageId":"z-3"}]"# + String(repeating: " ", count: 500 * 1024) + "}"
            try await client.execute(uri: "/v1/batch", method: .post, headers: gzip, body: try Self.gzipped(justOver)) {
                #expect($0.status == .contentTooLarge)
            }
            let brotli = Self.basic("demo", encoding: "br")
            try await client.execute(uri: "/v1/batch", method: .post, headers: brotli, body: try Self.gzipped(batch)) {
                #expect($0.status == .unsupportedMediaType)
            }
        }
        #expect(try await pipeline.queued().map(\.eventType) == ["zipped"])
    }

    @Test func messagesAreCountedByType() async throws {
        let metrics = TestMetrics()
        let pipeline = Pipeline()
        let app = Applications.ingestion(queue: pipeline.queue, clock: pipeline.clock, metrics: metrics, logger: Logger(label: "test"))
        let batch = #"{"batch":[{"type":"identify","userId":"u1"},{"type":"identify","userId":"u2"},{"type":"group","userId":"u1","groupId":"g"},{"type":"alias","userId":"u1","previousId":"a"},{"type":"track","userId":"u1","event":"e"}]}"#
        try await app.test(.router) { client in
            try await client.execute(uri: "/v1/batch", method: .post, headers: Self.basic("demo"), body: ByteBuffer(string: batch)) {
                #expect($0.status == .ok)
            }
            // A refused request counts nothing.
            try await client.execute(uri: "/v1/identify", method: .post, headers: Self.basic("demo"), body: ByteBuffer(string: "{}")) {
                #expect($0.status == .badRequest)
            }
        }
        func count(_ type: String) throws -> Int64 {
            try metrics.expectCounter("analytics_segment_messages_total", [("type", type)]).totalValue
        }
        #expect(try count("identify") == 2)
        #expect(try count("group") == 1)
        #expect(try count("alias") == 1)
        #expect(try count("track") == 1)
        #expect(try await pipeline.queued().count == 1)
    }

    /// A resend of the same messages (the SDKs retry a batch whose answer was lost) is stored once.
    @Test func aResentBatchIsStoredOnce() async throws {
        let pipeline = Pipeline()
        let batch = #"{"batch":[{"type":"track","userId":"u1","event":"e","messageId":"r-1"},{"type":"page","anonymousId":"a1","messageId":"6f1c1a52-5a7e-4e61-9f0e-3b1d2c4a5e6f"}],"sentAt":"2025-11-14T10:00:00Z"}"#
        try await pipeline.ingestion().test(.router) { client in
            for _ in 0..<2 {
                try await client.execute(uri: "/v1/batch", method: .post, headers: Self.basic("demo"), body: ByteBuffer(string: batch)) {
                    #expect($0.status == .ok)
                }
            }
        }
        try await pipeline.drain()
        let stats = try await pipeline.inMemoryStore.stats(StatsQuery(siteID: "demo", limit: 10))
        #expect(stats.totalViews == 2)
    }

    static func gzipped(_ text: String) throws -> ByteBuffer {
        var buffer = ByteBuffer(string: text)
        return try buffer.compress(with: .gzip())
    }
}
