import AnalyticsCore
import AnalyticsHTTP
import AnalyticsSpec
import AnalyticsTestSupport
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Synchronization
import Testing

/// Read tokens on reporting; registered sites, origins and write keys on ingestion: every status, on
/// both registries, in memory and behind a live server.
@Suite(.removesServerLeftovers) struct AccessTests {
    static let cases = setups.flatMap { setup in RegistryBackend.all.map { (setup, $0) } }

    /// A registry with sites `a`, `b`, `shop` (origin https://shop.example) and `server` (a write key),
    /// a token reading `a`, and a view that has loaded it.
    struct Fixture {
        let registry: any SiteRegistry
        let view: SiteRegistryView
        let token: String
        let tokenID: String
        let writeKey: String

        init(_ backend: RegistryBackend) async throws {
            registry = try await backend.make()
            try await registry.addSite("a", origins: [], at: 1)
            try await registry.addSite("b", origins: [], at: 1)
            try await registry.addSite("shop", origins: ["https://shop.example"], at: 1)
            try await registry.addSite("server", origins: [], at: 1)
            writeKey = Credentials.newWriteKey()
            try await registry.setWriteKey(SecretDigest(of: writeKey), forSite: "server")
            (token, tokenID) = Credentials.newReadToken()
            try await registry.addToken(ReadToken(id: tokenID, name: nil, sites: ["a"], digest: SecretDigest(of: token), createdAt: 1))
            view = SiteRegistryView(registry: registry)
            try await view.refresh()
        }
    }

    /// Reporting trusting the view's snapshot for an hour: the suites around may hold the machine for
    /// longer than the default 5 s between a fixture's load and its requests.
    private func reporting(_ pipeline: Pipeline, _ view: SiteRegistryView) -> some ApplicationProtocol {
        Applications.reporting(store: pipeline.store, access: ReportingAccess(view: view, maximumAge: .seconds(3600)), logger: Logger(label: "test"))
    }

    private func ingestion(_ pipeline: Pipeline, _ view: SiteRegistryView, _ sites: IngestSites = .registered) -> some ApplicationProtocol {
        Applications.ingestion(queue: pipeline.queue, clock: pipeline.clock, access: IngestionAccess(view: view, sites: sites), logger: Logger(label: "test"))
    }

    private func bearer(_ token: String) -> HTTPFields { [.authorization: "Bearer \(token)"] }

    private func site(_ site: String) -> String {
        #"{"site_id":"\#(site)","event_type":"view","path":"/","timestamp":"2025-11-14T10:00:00Z"}"#
    }

    @Test(arguments: cases)
    func reportingAnswersOnlyALiveTokenForItsSites(_ setup: TestingSetup, _ backend: RegistryBackend) async throws {
        let fixture = try await Fixture(backend)
        try await reporting(Pipeline(), fixture.view).test(setup) { client in
            try await client.execute(uri: "/stats?site_id=a", method: .get) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="analytics""#)
                #expect(Contract.embedded.error.validate(response.json).isEmpty)
            }
            // Who asks comes before what is asked: a bad query without a token is a 401, not a 400.
            try await client.execute(uri: "/stats?site_id=a&limit=0", method: .get) { #expect($0.status == .unauthorized) }
            for wrong in ["rt_000000000000_00000000000000000000000000000000", String(fixture.token.dropLast()), fixture.token + "0", "x"] {
                try await client.execute(uri: "/stats?site_id=a", method: .get, headers: bearer(wrong)) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.headers[.wwwAuthenticate] == #"Bearer realm="analytics", error="invalid_token""#)
                }
            }
            let basic = "Basic " + Data("\(fixture.token):".utf8).base64EncodedString()
            try await client.execute(uri: "/stats?site_id=a", method: .get, headers: [.authorization: basic]) { #expect($0.status == .unauthorized) }
            // The scheme is case-insensitive.
            try await client.execute(uri: "/stats?site_id=a", method: .get, headers: [.authorization: "bearer \(fixture.token)"]) {
                #expect($0.status == .ok)
            }
            for uri in ["/stats?site_id=a", "/stats/timeseries?site_id=a&from=2025-11-01&to=2025-11-02", "/stats/breakdown?site_id=a&by=path"] {
                try await client.execute(uri: uri, method: .get, headers: bearer(fixture.token)) { #expect($0.status == .ok) }
                try await client.execute(uri: uri.replacingOccurrences(of: "site_id=a", with: "site_id=b"), method: .get, headers: bearer(fixture.token)) { response in
                    #expect(response.status == .forbidden)
                    #expect(response.text == #"{"error":"this token does not read site b","details":[]}"#)
                }
            }
            try await client.execute(uri: "/stats?site_id=a&limit=0", method: .get, headers: bearer(fixture.token)) { #expect($0.status == .badRequest) }
            // Revoked, and seen at the view's next refresh.
            try await fixture.registry.revokeToken(id: fixture.tokenID, at: 2)
            try await fixture.view.refresh()
            try await client.execute(uri: "/stats?site_id=a", method: .get, headers: bearer(fixture.token)) { #expect($0.status == .unauthorized) }
        }
    }

    /// A snapshot the registry has not confirmed within the maximum age is not trusted: 503 until it is.
    @Test(arguments: setups)
    func reportingRefusesASnapshotTheRegistryHasNotConfirmedLately(_ setup: TestingSetup) async throws {
        let fixture = try await Fixture(.inMemory)
        // The view's time, moved by hand.
        let passed = Mutex(Duration.zero)
        let start = ContinuousClock.now
        let view = SiteRegistryView(registry: fixture.registry, now: { start + passed.withLock { $0 } })
        let app = Applications.reporting(
            store: Pipeline().store, access: ReportingAccess(view: view, maximumAge: .seconds(5)), logger: Logger(label: "test"))
        try await app.test(setup) { client in
            try await view.refresh()
            passed.withLock { $0 = .seconds(5) }
            try await client.execute(uri: "/stats?site_id=a", method: .get, headers: bearer(fixture.token)) { #expect($0.status == .ok) }
            passed.withLock { $0 = .milliseconds(5001) }
            try await client.execute(uri: "/stats?site_id=a", method: .get, headers: bearer(fixture.token)) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.text == #"{"error":"site registry unavailable; retry after 1 s","details":[]}"#)
            }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await view.refresh()
            try await client.execute(uri: "/stats?site_id=a", method: .get, headers: bearer(fixture.token)) { #expect($0.status == .ok) }
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test(arguments: setups)
    func untilTheRegistryIsLoadedReportingAndRegisteredIngestionAnswer503(_ setup: TestingSetup) async throws {
        let view = SiteRegistryView(registry: try await RegistryBackend.inMemory.make())
        let pipeline = Pipeline()
        try await reporting(pipeline, view).test(setup) { client in
            try await client.execute(uri: "/stats?site_id=a", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.json["checks"]?["registry"] == "unreachable")
            }
        }
        try await ingestion(pipeline, view, .registered).test(setup) { client in
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: site("a"))) {
                #expect($0.status == .serviceUnavailable)
            }
        }
        #expect(try await pipeline.queued().isEmpty)
        // INGEST_SITES=any takes events meanwhile, as the seed did: a process started while Postgres is down works.
        try await ingestion(pipeline, view, .any).test(setup) { client in
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: site("a"))) {
                #expect($0.status == .ok)
            }
        }
    }

    @Test(arguments: cases)
    func ingestionTakesRegisteredSitesOnlyAndABatchWhole(_ setup: TestingSetup, _ backend: RegistryBackend) async throws {
        let fixture = try await Fixture(backend)
        let pipeline = Pipeline()
        try await ingestion(pipeline, fixture.view).test(setup) { client in
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: site("a"))) { #expect($0.status == .ok) }
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: site("elsewhere"))) { response in
                #expect(response.status == .forbidden)
                #expect(response.text == #"{"error":"event refused","details":[{"path":"/site_id","keyword":"registered","message":"site is not registered: elsewhere"}]}"#)
            }
            let batch = "[" + (0..<150).map { site($0 % 3 == 1 ? "elsewhere" : "a") }.joined(separator: ",") + "]"
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: batch)) { response in
                #expect(response.status == .forbidden)
                #expect(response.json["error"] == "50 of 150 events refused; none was taken")
                #expect(response.violations.prefix(2) == ["/1/site_id registered", "/4/site_id registered"])
                #expect(response.violations.count == 50 && response.json["omitted"] == nil)
                #expect(Contract.embedded.error.validate(response.json).isEmpty)
            }
        }
        #expect(try await pipeline.queued().map(\.siteID) == ["a"])
        // INGEST_SITES=any takes any site.
        try await ingestion(pipeline, fixture.view, .any).test(setup) { client in
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: site("elsewhere"))) { #expect($0.status == .ok) }
        }
    }

    @Test(arguments: cases)
    func originsAreHeldAndNamedInCORS(_ setup: TestingSetup, _ backend: RegistryBackend) async throws {
        let fixture = try await Fixture(backend)
        let pipeline = Pipeline()
        try await ingestion(pipeline, fixture.view).test(setup) { client in
            var headers = jsonHeaders
            headers[.origin] = "https://shop.example"
            try await client.execute(uri: "/event", method: .post, headers: headers, body: ByteBuffer(string: site("shop"))) { response in
                #expect(response.status == .ok)
                #expect(response.headers[.accessControlAllowOrigin] == "https://shop.example")
                #expect(response.headers[.vary] == "Origin")
            }
            headers[.origin] = "https://evil.example"
            try await client.execute(uri: "/event", method: .post, headers: headers, body: ByteBuffer(string: site("shop"))) { response in
                #expect(response.status == .forbidden)
                #expect(response.violations == ["/site_id origin"])
                #expect(response.headers[.accessControlAllowOrigin] == "*")
            }
            // A site without origins takes events from anywhere; a server sends none.
            try await client.execute(uri: "/event", method: .post, headers: headers, body: ByteBuffer(string: site("a"))) { #expect($0.status == .ok) }
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: site("shop"))) { #expect($0.status == .ok) }
            try await client.execute(uri: "/events", method: .options, headers: [.origin: "https://shop.example"]) { response in
                #expect(response.status == .noContent)
                #expect(response.headers[.accessControlAllowOrigin] == "https://shop.example")
                #expect(response.headers[.accessControlAllowHeaders] == "Content-Type, Authorization")
            }
        }
        #expect(try await pipeline.queued().count == 3)
    }

    @Test(arguments: cases)
    func aSiteWithAWriteKeyNeedsItAsBasicUserName(_ setup: TestingSetup, _ backend: RegistryBackend) async throws {
        let fixture = try await Fixture(backend)
        let pipeline = Pipeline()
        let basic: @Sendable (String) -> String = { "Basic " + Data($0.utf8).base64EncodedString() }
        try await ingestion(pipeline, fixture.view).test(setup) { client in
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: site("server"))) { response in
                #expect(response.status == .unauthorized)
                #expect(response.headers[.wwwAuthenticate] == #"Basic realm="analytics""#)
                #expect(response.violations == ["/site_id writeKey"])
            }
            for wrong in [basic("wk_00000000000000000000000000000000:"), basic(fixture.writeKey.uppercased() + ":"), "Basic !!!", "Digest x"] {
                var headers = jsonHeaders
                headers[.authorization] = wrong
                try await client.execute(uri: "/event", method: .post, headers: headers, body: ByteBuffer(string: site("server"))) {
                    #expect($0.status == .unauthorized)
                }
            }
            // Segment's libraries send `key:` (an empty password); the scheme's case does not matter.
            for right in [basic(fixture.writeKey + ":"), basic(fixture.writeKey + ":ignored"), "basic " + Data((fixture.writeKey + ":").utf8).base64EncodedString()] {
                var headers = jsonHeaders
                headers[.authorization] = right
                try await client.execute(uri: "/event", method: .post, headers: headers, body: ByteBuffer(string: site("server"))) {
                    #expect($0.status == .ok)
                }
            }
            // A batch with an unregistered site and a missing key is a 401: the credentials first.
            let mixed = "[\(site("elsewhere")),\(site("server"))]"
            try await client.execute(uri: "/events", method: .post, headers: jsonHeaders, body: ByteBuffer(string: mixed)) { response in
                #expect(response.status == .unauthorized)
                #expect(response.violations == ["/0/site_id registered", "/1/site_id writeKey"])
            }
        }
        #expect(try await pipeline.queued().count == 3)
    }
}
