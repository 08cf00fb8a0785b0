import AnalyticsCore
import AnalyticsTestSupport
import Testing

/// The behaviour every `SiteRegistry` must have, and what a `SiteRegistryView` makes of it. Runs against
/// the in-memory registry always, and against Postgres when ANALYTICS_INTEGRATION=1.
@Suite(.removesServerLeftovers) struct SiteRegistryConformanceTests {
    private func token(_ sites: [String], name: String? = nil, at time: Int64 = 1_000) -> (secret: String, token: ReadToken) {
        let (secret, id) = Credentials.newReadToken()
        return (secret, ReadToken(id: id, name: name, sites: sites, digest: SecretDigest(of: secret), createdAt: time))
    }

    @Test(arguments: RegistryBackend.all)
    func sitesAreAddedListedUpdatedAndRemoved(_ backend: RegistryBackend) async throws {
        let registry = try await backend.make()
        #expect(try await registry.sites().isEmpty)
        let added = try await registry.addSite("shop.example.com", origins: ["https://shop.example.com", "https://a.example.com"], at: 1_700_000_000_123_456)
        #expect(added.origins == ["https://a.example.com", "https://shop.example.com"])
        #expect(added.createdAt == 1_700_000_000_123_456)
        try await registry.addSite("demo", origins: [], at: 5)
        #expect(try await registry.sites().map(\.id) == ["demo", "shop.example.com"])
        // Adding again replaces the origins and keeps the write key and the creation time.
        let key = SecretDigest(of: Credentials.newWriteKey())
        try await registry.setWriteKey(key, forSite: "shop.example.com")
        let again = try await registry.addSite("shop.example.com", origins: ["https://b.example.com"], at: 99)
        #expect(again.origins == ["https://b.example.com"])
        #expect(again.writeKey == key)
        #expect(again.createdAt == 1_700_000_000_123_456)
        #expect(try await registry.sites().first { $0.id == "shop.example.com" } == again)
        #expect(try await registry.removeSite("shop.example.com"))
        #expect(try await !registry.removeSite("shop.example.com"))
        #expect(try await registry.sites().map(\.id) == ["demo"])
    }

    @Test(arguments: RegistryBackend.all)
    func aWriteKeyNeedsARegisteredSiteAndIsReplacedByTheNext(_ backend: RegistryBackend) async throws {
        let registry = try await backend.make()
        await #expect(throws: RegistryError.unknownSite("nowhere")) {
            try await registry.setWriteKey(SecretDigest(of: "x"), forSite: "nowhere")
        }
        try await registry.addSite("demo", origins: [], at: 1)
        #expect(try await registry.sites()[0].writeKey == nil)
        try await registry.setWriteKey(SecretDigest(of: "first"), forSite: "demo")
        try await registry.setWriteKey(SecretDigest(of: "second"), forSite: "demo")
        #expect(try await registry.sites()[0].writeKey == SecretDigest(of: "second"))
    }

    @Test(arguments: RegistryBackend.all)
    func tokensAreStoredAsDigestsListedAndRevokedOnce(_ backend: RegistryBackend) async throws {
        let registry = try await backend.make()
        try await registry.addSite("a", origins: [], at: 1)
        try await registry.addSite("b", origins: [], at: 1)
        let first = token(["b", "a", "b"], name: "dashboard", at: 10)
        let second = token(["a"], at: 20)
        try await registry.addToken(first.token)
        try await registry.addToken(second.token)
        let listed = try await registry.tokens()
        #expect(listed == [first.token, second.token])
        #expect(listed[0].sites == ["a", "b"])
        #expect(listed[0].name == "dashboard" && listed[1].name == nil)
        #expect(try await registry.revokeToken(id: first.token.id, at: 30))
        #expect(try await !registry.revokeToken(id: first.token.id, at: 40))
        #expect(try await !registry.revokeToken(id: "000000000000", at: 40))
        #expect(try await registry.tokens().map(\.revokedAt) == [30, nil])
    }

    @Test(arguments: RegistryBackend.all)
    func aTokenForAnUnknownSiteOrWithATakenIDIsRefused(_ backend: RegistryBackend) async throws {
        let registry = try await backend.make()
        try await registry.addSite("a", origins: [], at: 1)
        await #expect(throws: RegistryError.unknownSite("b")) { try await registry.addToken(token(["a", "b"]).token) }
        let made = token(["a"])
        try await registry.addToken(made.token)
        let clash = ReadToken(id: made.token.id, name: nil, sites: ["a"], digest: SecretDigest(of: "other"), createdAt: 2)
        await #expect(throws: RegistryError.tokenExists(made.token.id)) { try await registry.addToken(clash) }
        #expect(try await registry.tokens() == [made.token])
    }

    @Test(arguments: RegistryBackend.all)
    func removingASiteRemovesItsGrants(_ backend: RegistryBackend) async throws {
        let registry = try await backend.make()
        try await registry.addSite("a", origins: [], at: 1)
        try await registry.addSite("b", origins: [], at: 1)
        let made = token(["a", "b"])
        try await registry.addToken(made.token)
        try await registry.removeSite("b")
        #expect(try await registry.tokens().map(\.sites) == [["a"]])
        // Registered again, the site is not read by the token that had it before.
        try await registry.addSite("b", origins: [], at: 2)
        #expect(try await registry.tokens().map(\.sites) == [["a"]])
    }

    /// Every change moves the version; reads do not.
    @Test(arguments: RegistryBackend.all)
    func everyChangeMovesTheVersion(_ backend: RegistryBackend) async throws {
        let registry = try await backend.make()
        var seen: Set<Int64> = [try await registry.version()]
        func changed(_ change: () async throws -> Void) async throws {
            try await change()
            let version = try await registry.version()
            #expect(!seen.contains(version))
            seen.insert(version)
        }
        try await changed { try await registry.addSite("a", origins: [], at: 1) }
        try await changed { try await registry.addSite("a", origins: ["https://a.example"], at: 1) }
        try await changed { try await registry.setWriteKey(SecretDigest(of: "k"), forSite: "a") }
        let made = token(["a"])
        try await changed { try await registry.addToken(made.token) }
        try await changed { try await registry.revokeToken(id: made.token.id, at: 5) }
        try await changed { try await registry.removeSite("a") }
        let before = try await registry.version()
        _ = try await registry.sites()
        _ = try await registry.tokens()
        #expect(try await registry.version() == before)
    }

    /// A view loads the registry, sees a token, and stops seeing it once revoked and refreshed.
    @Test(arguments: RegistryBackend.all)
    func aViewSeesChangesAtItsNextRefresh(_ backend: RegistryBackend) async throws {
        let registry = try await backend.make()
        try await registry.addSite("a", origins: ["https://a.example"], at: 1)
        let made = token(["a"])
        try await registry.addToken(made.token)
        let view = SiteRegistryView(registry: registry)
        #expect(view.snapshot == nil)
        try await view.refresh()
        #expect(view.snapshot?.token(presented: made.secret)?.sites == ["a"])
        #expect(view.snapshot?.sites["a"]?.origins == ["https://a.example"])
        try await registry.revokeToken(id: made.token.id, at: 2)
        #expect(view.snapshot?.token(presented: made.secret) != nil)
        try await view.refresh()
        #expect(view.snapshot?.token(presented: made.secret) == nil)
    }
}
