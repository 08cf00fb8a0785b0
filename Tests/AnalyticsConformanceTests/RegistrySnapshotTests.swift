import AnalyticsCore
import Testing

/// The checks a request makes against the registry: tokens, write keys, origins.
struct RegistrySnapshotTests {
    private static let key = "wk_0123456789abcdef0123456789abcdef"

    private func snapshot(tokens: [ReadToken] = []) -> RegistrySnapshot {
        RegistrySnapshot(version: 1, sites: [
            RegisteredSite(id: "open", createdAt: 0),
            RegisteredSite(id: "browser", origins: ["https://shop.example"], createdAt: 0),
            RegisteredSite(id: "server", writeKey: SecretDigest(of: Self.key), createdAt: 0),
            RegisteredSite(id: "both", origins: ["https://shop.example"], writeKey: SecretDigest(of: Self.key), createdAt: 0),
        ], tokens: tokens)
    }

    @Test func credentialsHaveTheirShapeAndDoNotRepeat() {
        let tokens = (0..<1000).map { _ in Credentials.newReadToken() }
        #expect(Set(tokens.map(\.token)).count == 1000)
        for (token, id) in tokens {
            #expect(token.count == 48 && token.hasPrefix("rt_"))
            #expect(Credentials.readTokenID(token) == Substring(id))
        }
        let key = Credentials.newWriteKey()
        #expect(key.count == 35 && key.hasPrefix("wk_"))
        #expect(Credentials.readTokenID("rt_short") == nil)
        #expect(Credentials.readTokenID(key) == nil)
    }

    @Test func digestsRoundTripAsHexAndNeverDescribeThemselves() throws {
        let digest = SecretDigest(of: "abc")
        #expect(digest.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SecretDigest(hex: digest.hex) == digest)
        #expect(SecretDigest(hex: digest.hex.uppercased()) == digest)
        #expect(SecretDigest(hex: "zz" + digest.hex.dropFirst(2)) == nil)
        #expect(!"\(digest)".contains(digest.hex.prefix(8)))
        #expect(digest.matches(SecretDigest(of: "abc")) && !digest.matches(SecretDigest(of: "abd")))
    }

    @Test func aTokenIsKnownOnlyWhole() {
        let (secret, id) = Credentials.newReadToken()
        let token = ReadToken(id: id, name: nil, sites: ["open"], digest: SecretDigest(of: secret), createdAt: 0)
        let (revokedSecret, revokedID) = Credentials.newReadToken()
        let revoked = ReadToken(id: revokedID, name: nil, sites: ["open"], digest: SecretDigest(of: revokedSecret), createdAt: 0, revokedAt: 1)
        let snapshot = snapshot(tokens: [token, revoked])
        #expect(snapshot.token(presented: secret) == token)
        #expect(snapshot.token(presented: secret.dropLast() + (secret.last == "0" ? "1" : "0")) == nil)
        #expect(snapshot.token(presented: String(secret.dropLast())) == nil)
        #expect(snapshot.token(presented: "") == nil)
        #expect(snapshot.token(presented: revokedSecret) == nil)
    }

    @Test(arguments: [
        // site, origin, key presented, registered only, refusal
        ("open", nil, nil, true, nil),
        ("open", "https://anywhere.example", nil, true, nil),
        ("open", nil, key, true, IngestRefusal.wrongWriteKey),
        ("unknown", nil, nil, true, .unregisteredSite),
        ("unknown", nil, nil, false, nil),
        ("unknown", "https://anywhere.example", key, false, nil),
        ("browser", "https://shop.example", nil, true, nil),
        ("browser", "HTTPS://SHOP.EXAMPLE", nil, true, nil),
        ("browser", "https://evil.example", nil, true, .originNotAllowed),
        ("browser", nil, nil, true, nil),
        ("server", nil, nil, true, .writeKeyRequired),
        ("server", "https://shop.example", nil, true, .writeKeyRequired),
        ("server", nil, key, false, nil),
        ("server", nil, "wk_00000000000000000000000000000000", true, .wrongWriteKey),
        ("both", "https://shop.example", nil, true, nil),
        ("both", "https://evil.example", nil, true, .originNotAllowed),
        ("both", nil, nil, true, .writeKeyRequired),
        ("both", "https://evil.example", key, true, nil),
    ] as [(String, String?, String?, Bool, IngestRefusal?)])
    func ingestionRefusals(site: String, origin: String?, key: String?, registeredOnly: Bool, refusal: IngestRefusal?) {
        let digest = key.map { SecretDigest(of: $0) }
        let origin = origin.map(RegistrySnapshot.normalized(origin:))
        #expect(snapshot().refusal(site: site, origin: origin, writeKey: digest, registeredOnly: registeredOnly) == refusal)
    }

    /// An `Origin` longer than any a site can list is not lowercased (a long header would cost that for
    /// every event of a batch) and matches nothing.
    @Test func aLongOriginMatchesNothing() {
        let long = "https://" + String(repeating: "A", count: 100_000) + ".example"
        #expect(RegistrySnapshot.normalized(origin: long) == "\u{0}")
        #expect(snapshot().refusal(site: "browser", origin: RegistrySnapshot.normalized(origin: long), writeKey: nil, registeredOnly: true) == .originNotAllowed)
    }

    @Test(arguments: [
        ("https://Example.com", "https://example.com"), ("https://example.com/", "https://example.com"),
        ("http://localhost:8080", "http://localhost:8080"), ("http://[::1]:3000", "http://[::1]:3000"),
        ("example.com", nil), ("ftp://example.com", nil), ("https://example.com/path", nil), ("https://", nil),
        ("https://example.com:0", nil), ("https://example.com:99999", nil), ("https://user@example.com", nil),
    ] as [(String, String?)])
    func originsAreNormalizedOrRefused(text: String, origin: String?) {
        #expect(RegisteredSite.origin(text) == origin)
    }

    /// The time to refuse a wrong token does not depend on how many of its leading characters are right:
    /// not on whether its id is a live token's, nor on all but its last character being right (code that
    /// skipped the digest for an unknown id would refuse that one several times faster). Rounds interleave
    /// the candidates in a shuffled order, and each candidate's fastest round is compared, since what the
    /// machine does meanwhile only ever adds time; the suites run in parallel on two cores, so a run whose
    /// rounds were all disturbed is measured again, up to three times.
    @Test func refusingAWrongTokenTakesAsLongWhateverItsPrefix() {
        let (secret, id) = Credentials.newReadToken()
        let tokens = (0..<1000).map { _ in Credentials.newReadToken() }.map {
            ReadToken(id: $0.id, name: nil, sites: ["open"], digest: SecretDigest(of: $0.token), createdAt: 0)
        } + [ReadToken(id: id, name: nil, sites: ["open"], digest: SecretDigest(of: secret), createdAt: 0)]
        let snapshot = snapshot(tokens: tokens)
        let last = secret.last == "0" ? "1" : "0"
        let candidates = [
            "rt_" + String(repeating: "f", count: 12) + "_" + String(repeating: "0", count: 32),  // nothing right but the shape
            "rt_" + id + "_" + String(repeating: last, count: 32),  // the live id, a wrong secret
            String(secret.dropLast()) + last,  // all but the last character
        ]
        var generator = SystemRandomNumberGenerator()
        let clock = ContinuousClock()
        var runs: [[Duration]] = []
        for _ in 0..<3 {
            var fastest = [Duration](repeating: .seconds(3600), count: candidates.count)
            for _ in 0..<61 {
                for index in candidates.indices.shuffled(using: &generator) {
                    let candidate = candidates[index]
                    var refused = 0
                    let elapsed = clock.measure {
                        for _ in 0..<300 where snapshot.token(presented: candidate) == nil { refused += 1 }
                    }
                    #expect(refused == 300)
                    fastest[index] = min(fastest[index], elapsed)
                }
            }
            runs.append(fastest)
            if fastest.max()! / fastest.min()! < 1.25 { break }
        }
        let ratios = runs.map { $0.max()! / $0.min()! }
        #expect(ratios.contains { $0 < 1.25 }, "fastest rounds \(runs), ratios \(ratios)")
    }
}
