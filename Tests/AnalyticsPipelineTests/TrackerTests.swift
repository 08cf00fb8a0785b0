import AnalyticsCore
import AnalyticsHTTP
import AnalyticsInMemory
import AnalyticsSpec
import AnalyticsTestSupport
import CompressNIO
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JSONSchemaValidation
import Logging
import NIOCore
import Testing

/// A golden case of fixtures/tracker/collect.json.
struct TrackerCase: Sendable, CustomTestStringConvertible {
    let description: String
    let receivedAt: Int64
    let key: [UInt8]
    let address: String
    let userAgent: String
    let body: JSONValue
    let accepted: Bool
    let event: JSONValue?
    let errors: [String]

    var testDescription: String { description }

    static let all: [TrackerCase] = {
        let url = repositoryRoot.appendingPathComponent("fixtures/tracker/collect.json")
        return try! JSONParser.parse(Array(try! Data(contentsOf: url))).arrayValue!.map { item in
            guard case .success(let received) = RFC3339.parseDateTime(item["received_at"]!.stringValue!) else { fatalError() }
            let hex = Array(item["visitor_key"]!.stringValue!.utf8)
            let key = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
            return TrackerCase(
                description: item["description"]!.stringValue!, receivedAt: received.microsecondsSinceEpoch, key: key,
                address: item["address"]!.stringValue!, userAgent: item["user_agent"]!.stringValue!, body: item["body"]!,
                accepted: item["accepted"]!.boolValue!, event: item["event"],
                errors: (item["errors"]?.arrayValue ?? []).map { "\($0["path"]!.stringValue!) \($0["keyword"]!.stringValue!)" }.sorted())
        }
    }()
}

/// A store that hands out fixed keys, so that a test knows the visitor ids to expect.
struct FixedVisitorKeys: VisitorKeyStore {
    let key: @Sendable (CalendarDate) -> [UInt8]
    func key(for day: CalendarDate) async throws -> [UInt8] { key(day) }
}

/// The script tag: /script.js as served, and /collect's hits becoming events with the day's visitor ids.
@Suite(.removesServerLeftovers) struct TrackerTests {
    static let textPlain: HTTPFields = [.contentType: "text/plain;charset=UTF-8", .userAgent: "Mozilla/5.0 Test"]
    static func hit(_ site: String = "demo", url: String = "https://shop.example/a?b=c", type: String? = nil) -> ByteBuffer {
        ByteBuffer(string: #"{"site_id":"\#(site)","url":"\#(url)""# + (type.map { #","event_type":"\#($0)""# } ?? "") + "}")
    }

    @Test(arguments: TrackerCase.all)
    func everyGoldenCase(_ golden: TrackerCase) throws {
        let decoder = TrackerHitDecoder()!
        let id = EventID(high: 1, low: 2)
        let body = Array(JSONWriter.string(golden.body).utf8)
        let outcome = decoder.decode(body).flatMap { hit in
            decoder.event(
                of: hit,
                visitor: VisitorKeys.visitor(key: golden.key, site: hit.siteID, address: IPAddress(golden.address)!.bytes, userAgent: golden.userAgent),
                timestamp: golden.receivedAt, id: id)
        }
        switch outcome {
        case .success(let event):
            #expect(golden.accepted)
            var expected = try #require(golden.event?.objectValue)
            expected = JSONObject([("event_id", .string(id.description))] + expected.members)
            #expect(EventCodec.json(event) == .object(expected))
        case .failure(let violation):
            #expect(!golden.accepted, "\(violation.details)")
            #expect(violation.details.map { "\($0.instancePath) \($0.keyword)" }.sorted() == golden.errors)
        }
    }

    @Test(arguments: setups)
    func theScriptIsSmallCachedAndRevalidated(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(setup) { client in
            var etag = ""
            var plain = ByteBuffer()
            try await client.execute(uri: "/script.js", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentType] == "text/javascript; charset=utf-8")
                #expect(response.headers[.cacheControl] == "public, max-age=3600")
                #expect(response.headers[.contentEncoding] == nil)
                etag = try #require(response.headers[.eTag])
                plain = response.body
                #expect(String(buffer: response.body).contains("sendBeacon"))
            }
            try await client.execute(uri: "/script.js", method: .get, headers: [.acceptEncoding: "br, gzip;q=0.9"]) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.contentEncoding] == "gzip")
                #expect(response.body.readableBytes <= 1536, "\(response.body.readableBytes) bytes gzipped")
                var body = response.body
                let inflated = try body.decompress(with: .gzip())
                #expect(inflated == plain)
            }
            // gzip refused by quality zero: the plain bytes, under the plain representation's tag.
            try await client.execute(uri: "/script.js", method: .get, headers: [.acceptEncoding: "gzip;q=0, identity"]) { response in
                #expect(response.headers[.contentEncoding] == nil)
                #expect(response.headers[.eTag] == etag)
            }
            try await client.execute(uri: "/script.js", method: .get, headers: [.acceptEncoding: "gzip"]) { response in
                #expect(response.headers[.eTag] != etag, "each representation has its own tag")
            }
            try await client.execute(uri: "/script.js", method: .get, headers: [.ifNoneMatch: etag]) { response in
                #expect(response.status == .notModified)
                #expect(response.body.readableBytes == 0)
            }
            try await client.execute(uri: "/script.js", method: .get, headers: [.ifNoneMatch: #""stale""#]) { #expect($0.status == .ok) }
            try await client.execute(uri: "/script.js", method: .post) { #expect($0.status == .methodNotAllowed) }
        }
    }

    @Test(arguments: setups)
    func aHitIsAnEventWithTheDaysVisitor(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        let app = Applications.ingestion(
            queue: pipeline.queue, clock: pipeline.clock, visitors: VisitorKeys(store: InMemoryVisitorKeyStore()), logger: Logger(label: "test"))
        try await app.test(setup) { client in
            for body in [Self.hit(), Self.hit(url: "https://shop.example/b"), Self.hit(type: "Signup Clicked")] {
                try await client.execute(uri: "/collect", method: .post, headers: Self.textPlain, body: body) { response in
                    #expect(response.status == .ok)
                    #expect(response.headers[.accessControlAllowOrigin] == "*")
                }
            }
            var otherBrowser = Self.textPlain
            otherBrowser[.userAgent] = "Mozilla/5.0 Other"
            try await client.execute(uri: "/collect", method: .post, headers: otherBrowser, body: Self.hit()) { #expect($0.status == .ok) }
            // A proxy's header is not trusted without TRUSTED_PROXIES: the same visitor.
            var forwarded = Self.textPlain
            forwarded[HTTPField.Name("X-Forwarded-For")!] = "198.51.100.7"
            try await client.execute(uri: "/collect", method: .post, headers: forwarded, body: Self.hit()) { #expect($0.status == .ok) }
            // The next UTC day the same browser is a new visitor.
            pipeline.clock.advance(by: .seconds(86_400))
            try await client.execute(uri: "/collect", method: .post, headers: Self.textPlain, body: Self.hit()) { #expect($0.status == .ok) }
        }
        let events = try await pipeline.queued()
        #expect(events.map(\.path) == ["/a", "/b", "/a", "/a", "/a", "/a"])
        #expect(events.map(\.eventType) == ["pageview", "pageview", "Signup Clicked", "pageview", "pageview", "pageview"])
        let users = events.map { $0.userID ?? "" }
        #expect(users.allSatisfy { $0.hasPrefix("v") && $0.count == 33 })
        #expect(users[0] == users[1] && users[1] == users[2] && users[2] == users[4])
        #expect(users[3] != users[0], "another browser is another visitor")
        #expect(users[5] != users[0], "the key changed with the day")
        #expect(Set(events.map(\.id)).count == events.count)
    }

    @Test(arguments: setups)
    func badHitsAreRefusedWithTheErrorBody(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        try await pipeline.ingestion().test(setup) { client in
            try await client.execute(uri: "/collect", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: Self.hit()) {
                #expect($0.status == .unsupportedMediaType)
            }
            try await client.execute(uri: "/collect", method: .post, headers: Self.textPlain, body: ByteBuffer(string: "site_id=demo")) { response in
                #expect(response.status == .badRequest)
                #expect(Contract.embedded.error.validate(response.json).isEmpty)
            }
            let long = Self.hit(url: "https://shop.example/" + String(repeating: "a", count: 9000))
            try await client.execute(uri: "/collect", method: .post, headers: Self.textPlain, body: long) { #expect($0.status == .contentTooLarge) }
            try await client.execute(uri: "/collect", method: .post, headers: Self.textPlain, body: Self.hit("bad site")) { response in
                #expect(response.status == .badRequest)
                #expect(response.violations == ["/site_id pattern"])
            }
        }
        #expect(try await pipeline.queued().isEmpty)
    }

    @Test(arguments: AccessTests.cases)
    func aSitesOriginsApplyToItsHits(_ setup: TestingSetup, _ backend: RegistryBackend) async throws {
        let fixture = try await AccessTests.Fixture(backend)
        let pipeline = Pipeline()
        let app = Applications.ingestion(
            queue: pipeline.queue, clock: pipeline.clock, access: IngestionAccess(view: fixture.view, sites: .registered), logger: Logger(label: "test"))
        try await app.test(setup) { client in
            var fromShop = Self.textPlain
            fromShop[.origin] = "https://shop.example"
            try await client.execute(uri: "/collect", method: .post, headers: fromShop, body: Self.hit("shop")) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.accessControlAllowOrigin] == "https://shop.example")
            }
            var elsewhere = Self.textPlain
            elsewhere[.origin] = "https://elsewhere.example"
            try await client.execute(uri: "/collect", method: .post, headers: elsewhere, body: Self.hit("shop")) { #expect($0.status == .forbidden) }
            try await client.execute(uri: "/collect", method: .post, headers: fromShop, body: Self.hit("unregistered")) { #expect($0.status == .forbidden) }
            // A site with a write key and no listed origin takes no keyless hit.
            try await client.execute(uri: "/collect", method: .post, headers: fromShop, body: Self.hit("server")) { #expect($0.status == .unauthorized) }
        }
        #expect(try await pipeline.queued().map(\.siteID) == ["shop"])
    }
}
