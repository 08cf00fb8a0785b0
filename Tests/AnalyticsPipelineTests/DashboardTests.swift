import AnalyticsCore
import AnalyticsInMemory
@testable import AnalyticsHTTP
import AnalyticsSpec
import AnalyticsTestSupport
import CompressNIO
import Crypto
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// The dashboard's page and files as the reporting process serves them; what the page does with them is
/// tested in Chromium (scripts/e2e/dashboard-browser.py).
@Suite struct DashboardTests {
    /// What the page links to: `/assets/NAME` in src and href attributes.
    private func assetPaths(in html: String) -> [String] {
        html.split(separator: "\"").filter { $0.hasPrefix("/assets/") }.map(String.init)
    }

    @Test(arguments: setups)
    func everyPageIsTheSameDocumentWithAStrictPolicy(_ setup: TestingSetup) async throws {
        try await Pipeline().reporting().test(setup) { client in
            var pages: [String] = []
            for uri in ["/", "/sites/demo", "/sites/shop.example.com", "/sites/app:eu", "/sites/app%3Aeu", "/sites/demo?range=7d&tz=Europe%2FBerlin"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .ok, "\(uri)")
                    #expect(response.headers[.contentType] == "text/html; charset=utf-8")
                    #expect(response.headers[.cacheControl] == "no-cache")
                    let policy = try #require(response.headers[.contentSecurityPolicy])
                    for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"] {
                        #expect(policy.contains(directive), "\(directive)")
                    }
                    #expect(!policy.contains("unsafe"))
                    #expect(response.headers[.xContentTypeOptions] == "nosniff")
                    pages.append(response.text)
                }
            }
            #expect(Set(pages).count == 1)
            let html = try #require(pages.first)
            // Nothing inline, which the policy would block: every script has a src, no style attribute or element.
            #expect(!html.contains("<script>") && !html.contains("<script type=\"module\">"))
            #expect(!html.contains("style=") && !html.contains("<style"))
            #expect(assetPaths(in: html).count == 9, "the entry, six preloaded modules, the style sheet and the icon")
        }
    }

    /// The page says whether reporting needs a token, so that it asks for one before any request fails.
    @Test func thePageKnowsWhetherATokenIsNeeded() async throws {
        let registry = InMemorySiteRegistry()
        let view = SiteRegistryView(registry: registry)
        try await view.refresh()
        let guarded = Applications.reporting(store: Pipeline().store, access: ReportingAccess(view: view, maximumAge: .seconds(3600)), logger: Logger(label: "test"))
        try await guarded.test(.router) { client in
            try await client.execute(uri: "/", method: .get) { #expect($0.text.contains(#"<meta name="analytics-auth" content="required">"#)) }
        }
        try await Pipeline().reporting().test(.router) { client in
            try await client.execute(uri: "/sites/demo", method: .get) { #expect($0.text.contains(#"<meta name="analytics-auth" content="off">"#)) }
        }
    }

    @Test(arguments: setups)
    func assetsAreNamedByTheirContentAndCachedForAYear(_ setup: TestingSetup) async throws {
        try await Pipeline().reporting().test(setup) { client in
            let html = try await client.execute(uri: "/", method: .get) { $0.text }
            for path in Set(assetPaths(in: html)) {
                try await client.execute(uri: path, method: .get) { response in
                    #expect(response.status == .ok, "\(path)")
                    #expect(response.headers[.cacheControl] == "public, max-age=31536000, immutable")
                    let name = path.dropFirst("/assets/".count)
                    let parts = name.split(separator: ".")
                    #expect(parts.count == 3)
                    let digest = SHA256.hash(data: Array(response.body.readableBytesView)).prefix(8)
                        .map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
                    #expect(String(parts[1]) == digest, "\(name) names its content")
                    let type = response.headers[.contentType] ?? ""
                    #expect(parts[2] == "js" ? type.hasPrefix("text/javascript") : parts[2] == "css" ? type.hasPrefix("text/css") : type == "image/svg+xml")
                    // A module imports hashed names only, each of them served.
                    if parts[2] == "js" {
                        for imported in response.text.split(separator: "\"").filter({ $0.hasPrefix("./") }) {
                            #expect(imported.dropFirst(2).split(separator: ".").count == 3, "\(name) imports \(imported) by its hashed name")
                            #expect(DashboardAssets.shared.files[String(imported.dropFirst(2))] != nil, "\(imported) is served")
                        }
                    }
                }
            }
        }
    }

    @Test func aChangedModuleRenamesEveryModuleThatLeadsToIt() throws {
        let sources = DashboardAssets.sources
        let before = try DashboardAssets(sources: sources, template: PackageResources.index_html)
        let changed = sources.map { $0.name == "format.js" ? ($0.name, $0.bytes + Array("\n// changed\n".utf8)) : $0 }
        let after = try DashboardAssets(sources: changed, template: PackageResources.index_html)
        for name in ["format.js", "chart.js", "tables.js", "app.js"] { #expect(before.names[name] != after.names[name], "\(name)") }
        for name in ["api.js", "ranges.js", "dashboard.css", "icon.svg"] { #expect(before.names[name] == after.names[name], "\(name)") }
        #expect(String(decoding: after.signInPage.plain.readableBytesView, as: UTF8.self).contains(after.names["app.js"]!))
    }

    @Test func anImportCycleIsRefused() {
        let sources: [(name: String, bytes: [UInt8])] = [
            ("app.js", Array(#"import { b } from "./b.js";"#.utf8)), ("b.js", Array(#"import { a } from "./app.js";"#.utf8)),
            ("dashboard.css", []), ("icon.svg", []),
        ]
        #expect(throws: DashboardAssets.BuildError.self) { try DashboardAssets(sources: sources, template: PackageResources.index_html) }
    }

    /// The issue's budget: at most 100 KB of JavaScript transferred (gzipped, as served to browsers).
    @Test func theScriptsTransferWithinTheirBudget() throws {
        let assets = DashboardAssets.shared
        let scripts = assets.files.filter { $0.key.hasSuffix(".js") }.values
        #expect(scripts.count == 6)
        let transferred = scripts.map { $0.body(acceptingGzip: true).readableBytes }.reduce(0, +)
        let plain = scripts.map(\.plain.readableBytes).reduce(0, +)
        #expect(transferred <= 100_000, "\(transferred) bytes gzipped (\(plain) plain)")
        #expect(transferred < plain, "served gzipped")
    }

    @Test(arguments: setups)
    func whatIsNotThePageIsA404OrA405(_ setup: TestingSetup) async throws {
        try await Pipeline().reporting().test(setup) { client in
            for uri in ["/sites/has%20space", "/sites/%00", "/sites/caf%C3%A9", "/sites/a/b", "/sites/a%2", "/sites/a%zz", "/sites/%FF", "/sites/a%2Fb", "/sites/app%253Aeu", "/assets/app.js", "/assets/app.0000000000000000.js", "/index.html"] {
                try await client.execute(uri: uri, method: .get) { response in
                    #expect(response.status == .notFound, "\(uri)")
                    #expect(Contract.embedded.error.validate(response.json).isEmpty)
                }
            }
            for uri in ["/", "/sites/demo", "/sites"] {
                try await client.execute(uri: uri, method: .post) { response in
                    #expect(response.status == .methodNotAllowed, "\(uri)")
                    #expect(response.headers[.allow] == "GET, HEAD")
                }
            }
        }
    }

    @Test(arguments: setups)
    func aCurrentCopyIsA304(_ setup: TestingSetup) async throws {
        try await Pipeline().reporting().test(setup) { client in
            let (html, tag) = try await client.execute(uri: "/", method: .get) { ($0.text, $0.headers[.eTag]) }
            let etag = try #require(tag)
            try await client.execute(uri: "/sites/demo", method: .get, headers: [.ifNoneMatch: etag]) { #expect($0.status == .notModified) }
            let script = try #require(assetPaths(in: html).first { $0.hasSuffix(".js") })
            try await client.execute(uri: script, method: .get, headers: [.acceptEncoding: "gzip"]) { response in
                #expect(response.headers[.contentEncoding] == "gzip")
                var body = response.body
                let plain = try body.decompress(with: .gzip())
                #expect(plain.readableBytes > response.body.readableBytes)
            }
        }
    }

    /// Without access control, `GET /sites` lists the store's sites; with the store down, a 503.
    @Test(arguments: setups)
    func withoutAccessControlTheSitesAreTheStores(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        var generator = SystemRandomNumberGenerator()
        _ = try await pipeline.store.insert(["zeta", "alpha", "zeta"].map {
            Event(id: EventID.version7(unixMilliseconds: 1_763_114_400_000, using: &generator), siteID: $0, eventType: "view", path: "/", userID: nil, timestamp: 1_763_114_400_000_000)
        })
        try await pipeline.reporting().test(setup) { client in
            try await client.execute(uri: "/sites", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text == #"{"sites":["alpha","zeta"],"token":null}"#)
                #expect(Contract.embedded.sitesResponse?.validate(response.json).isEmpty == true)
            }
            pipeline.store.setDown(true)
            try await client.execute(uri: "/sites", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
            }
        }
    }
}
