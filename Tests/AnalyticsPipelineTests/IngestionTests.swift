import AnalyticsCore
import AnalyticsHTTP
import AnalyticsSpec
import AnalyticsTestSupport
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct IngestionTests {
    @Test(arguments: setups)
    func acceptsTheSeedEventWithTheSeedsBody(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedEvent)) { response in
                #expect(response.status == .ok)
                #expect(response.text == #"{"status":"ok"}"#)
                #expect(response.headers[.contentType] == "application/json")
            }
        }
        let queued = try await pipeline.queued()
        #expect(queued.count == 1)
        #expect(queued[0].siteID == "demo" && queued[0].userID == "u1" && queued[0].id.version == 7)
    }

    @Test(arguments: setups)
    func keepsTheClientsEventIDAndStoresEmptyUserIDAsNull(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        let body = event(extra: #","user_id":"","event_id":"3F1B2C4D-5E6F-4A7B-8C9D-0E1F2A3B4C5D""#)
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)) {
                #expect($0.status == .ok)
            }
        }
        let queued = try await pipeline.queued()
        #expect(queued.map(\.id.description) == ["3f1b2c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d"])
        #expect(queued[0].userID == nil)
    }

    @Test(arguments: setups)
    func invalidEventsGet400ListingEveryViolationAndAreNotQueued(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        let bad = #"{"site_id":"","event_type":"view","path":"x","timestamp":"2025-13-01T00:00:00Z","extra":1}"#
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: bad)) { response in
                #expect(response.status == .badRequest)
                #expect(response.json["error"] == "invalid event")
                #expect(response.violations.sorted() == [
                    "/extra additionalProperties", "/path pattern", "/site_id minLength", "/site_id pattern", "/timestamp format",
                ])
                #expect(Contract.embedded.error.validate(response.json).isEmpty)
            }
            for body in ["{", "", "[1,2]", "null", #"{"site_id":"a","site_id":"b"}"#] {
                try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .badRequest, "\(body)")
                    #expect(Contract.embedded.error.validate(response.json).isEmpty)
                }
            }
        }
        #expect(try await pipeline.queued().isEmpty)
    }

    @Test(arguments: setups)
    func batchesAreAllOrNothing(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        let thousand = "[" + (0..<1000).map { event(path: "/\($0)") }.joined(separator: ",") + "]"
        let tooMany = "[" + (0...1000).map { _ in event() }.joined(separator: ",") + "]"
        let oneBad = "[\(event()),\(event(path: "nope")),\(event())]"
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: thousand)) { response in
                #expect(response.status == .ok)
                #expect(response.text == #"{"status":"ok","accepted":1000}"#)
            }
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: tooMany)) { response in
                #expect(response.status == .badRequest)
                #expect(response.violations == [" maxItems"])
            }
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: oneBad)) { response in
                #expect(response.status == .badRequest)
                #expect(response.json["error"] == "invalid batch")
                #expect(response.violations == ["/1/path pattern"])
            }
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "[]")) { response in
                #expect(response.violations == [" minItems"])
            }
        }
        // Assigned IDs draw two random words each, so 1000 of them cross several refills of the buffer.
        let queued = try await pipeline.queued()
        #expect(queued.count == 1000)
        #expect(Set(queued.map(\.id)).count == 1000)
        #expect(queued.allSatisfy { $0.id.version == 7 })
    }

    @Test(arguments: setups)
    func oversizedBodiesGet413(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        let big = event(path: "/" + String(repeating: "a", count: 33 * 1024))
        let bigBatch = "[" + Array(repeating: event(path: "/" + String(repeating: "b", count: 2000)), count: 300).joined(separator: ",") + "]"
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: big)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.json["error"] == "body is larger than 32 KiB")
            }
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: bigBatch)) { response in
                #expect(response.status == .contentTooLarge)
                #expect(response.json["error"] == "body is larger than 512 KiB")
            }
            // A 40 KiB batch is fine on /events.
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "[\(big)]")) { response in
                #expect(response.status == .badRequest)
                #expect(response.violations == ["/0/path maxLength", "/0/path maxBytes"])
            }
        }
    }

    @Test func aDeclaredContentLengthOverTheLimitIsRefusedWithoutReadingTheBody() async throws {
        try await Pipeline().ingestion().test(.live) { client in
            let port = try #require(client.port)
            // Declares a megabyte, sends a few bytes, and waits: the answer must come without the rest.
            let head = "POST /event HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"site"
            let answer = try await RawHTTP.exchange(port: port, send: head, timeoutSeconds: 20)
            #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(80))")
        }
    }

    @Test(arguments: setups)
    func onlyJSONContentTypesAreAccepted(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(setup) { client in
            for contentType in ["text/plain", "application/x-www-form-urlencoded", "application/jsonp"] {
                try await client.execute(uri: "/event", method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: seedEvent)) { response in
                    #expect(response.status == .unsupportedMediaType, "\(contentType)")
                    #expect(response.json["error"] == "Content-Type must be application/json")
                }
            }
            try await client.execute(uri: "/event", method: .post, body: ByteBuffer(string: seedEvent)) { response in
                #expect(response.status == .unsupportedMediaType)
            }
            for contentType in ["application/json; charset=utf-8", "Application/JSON", "application/vnd.analytics+json"] {
                try await client.execute(uri: "/event", method: .post, headers: [.contentType: contentType], body: ByteBuffer(string: seedEvent)) { response in
                    #expect(response.status == .ok, "\(contentType)")
                }
            }
        }
    }

    @Test(arguments: setups)
    func wrongMethodsGet405WithAllowAndUnknownPaths404(_ setup: TestingSetup) async throws {
        try await Pipeline().ingestion().test(setup) { client in
            let query = try #require(HTTPRequest.Method("QUERY"))
            for (uri, method) in [
                ("/event", HTTPRequest.Method.get), ("/events", .put), ("/event", .delete), ("/healthz", .post), ("/events", .trace),
                ("/readyz", .trace), ("/event", query), ("/healthz", query),
            ] {
                try await client.execute(uri: uri, method: method) { response in
                    #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                    #expect(response.headers[.allow] != nil)
                    #expect(Contract.embedded.error.validate(response.json).isEmpty)
                }
            }
            try await client.execute(uri: "/event", method: .get) { #expect($0.headers[.allow] == "POST, OPTIONS") }
            try await client.execute(uri: "/stats", method: .get) { response in
                #expect(response.status == .notFound)
                #expect(response.json["error"] == "no such endpoint: GET /stats")
                #expect(Contract.embedded.error.validate(response.json).isEmpty)
            }
            try await client.execute(uri: "/stats", method: query) { #expect($0.status == .notFound) }
            try await client.execute(uri: "/event", method: query) { #expect($0.headers[.allow] == "POST, OPTIONS") }
        }
    }

    @Test(arguments: setups)
    func answers503WithRetryAfterWhenTheQueueIsDownAndAcceptsNothing(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        pipeline.queue.setDown(true)
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedEvent)) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                #expect(Contract.embedded.error.validate(response.json).isEmpty)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.json["status"] == "unavailable")
            }
            pipeline.queue.setDown(false)
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedEvent)) {
                #expect($0.status == .ok)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text == #"{"status":"ready","checks":{"queue":"ok"}}"#)
            }
        }
        #expect(try await pipeline.queued().count == 1)
    }

    @Test(arguments: setups)
    func answers503WhenTheQueueIsAboveItsMaximumDepth(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        var configuration = IngestionConfiguration()
        configuration.maximumQueueDepth = 3
        try await pipeline.ingestion(configuration).test(setup) { client in
            let three = "[\(event()),\(event()),\(event())]"
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: three)) {
                #expect($0.status == .ok)
            }
            pipeline.clock.advance(by: .seconds(1))
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedEvent)) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "5")
                #expect(response.json["error"] == "queue is full; retry after 5 s")
            }
            try await pipeline.drain()
            pipeline.clock.advance(by: .seconds(1))
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedEvent)) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test(arguments: setups)
    func browsersGetCORSPreflightAndHeaders(_ setup: TestingSetup) async throws {
        try await Pipeline().ingestion().test(setup) { client in
            try await client.execute(uri: "/event", method: .options) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "*")
                #expect(response.headers[.accessControlAllowMethods] == "POST, OPTIONS")
            }
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedEvent)) {
                #expect($0.headers[.accessControlAllowOrigin] == "*")
            }
        }
    }

    @Test(arguments: setups)
    func answersCarryTheConfiguredOriginOrNone(_ setup: TestingSetup) async throws {
        for origin in ["https://shop.example", nil] {
            var configuration = IngestionConfiguration()
            configuration.allowedOrigin = origin
            try await Pipeline().ingestion(configuration).test(setup) { client in
                try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedEvent)) {
                    #expect($0.status == .ok)
                    #expect($0.headers[.accessControlAllowOrigin] == origin)
                    #expect($0.headers[.contentType] == "application/json")
                }
                try await client.execute(uri: "/event", method: .post, headers: [.contentType: "text/plain"], body: ByteBuffer(string: seedEvent)) {
                    #expect($0.status == .unsupportedMediaType)
                    #expect($0.headers[.accessControlAllowOrigin] == origin)
                }
            }
        }
    }

    @Test(arguments: setups)
    func healthAnswersOnGetAndHead(_ setup: TestingSetup) async throws {
        try await Pipeline().ingestion().test(setup) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text == #"{"status":"ok"}"#)
            }
            try await client.execute(uri: "/healthz", method: .head) { #expect($0.status == .ok) }
        }
    }
}
