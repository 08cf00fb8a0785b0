/// The whole registry at one version, indexed for the checks every request makes: a token, a write key,
/// an origin. Immutable, so a request reads it without a lock held.
public final class RegistrySnapshot: Sendable {
    public let version: Int64
    public let sites: [String: RegisteredSite]
    /// Tokens that are not revoked, by id.
    private let tokens: [Substring: ReadToken]
    /// Every origin some site lists.
    public let listedOrigins: Set<String>
    /// Whether some site has a rate limit of its own.
    public let hasRateLimits: Bool
    /// Sites by the digest of their write key.
    private let sitesByWriteKey: [SecretDigest: String]

    public init(version: Int64, sites: [RegisteredSite], tokens: [ReadToken]) {
        self.version = version
        self.sites = Dictionary(sites.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        self.tokens = Dictionary(
            tokens.filter { $0.revokedAt == nil }.map { (Substring($0.id), $0) }, uniquingKeysWith: { first, _ in first })
        listedOrigins = Set(sites.flatMap(\.origins))
        hasRateLimits = sites.contains { $0.rateLimit != nil }
        sitesByWriteKey = Dictionary(
            sites.compactMap { site in site.writeKey.map { ($0, site.id) } }, uniquingKeysWith: { first, _ in first })
    }

    public static let empty = RegistrySnapshot(version: 0, sites: [], tokens: [])

    /// The live token `presented` is, or nil. Its time depends on the length of `presented` only: the
    /// digest is computed and compared in full whether or not the id is known (against a digest nothing
    /// hashes to), so neither the id's existence nor how many leading characters are right shows.
    public func token(presented: some StringProtocol) -> ReadToken? {
        let digest = SecretDigest(of: presented)
        let candidate = Credentials.readTokenID(presented).flatMap { tokens[$0] }
        let matches = digest.matches(candidate?.digest ?? Self.unmatchable)
        return matches ? candidate : nil
    }

    /// The site whose write key has `digest`, for senders that name their site by its key alone (Segment's
    /// libraries). A hash lookup, so its time may depend on the digest; the digest is SHA-256 of what was
    /// presented, which tells nothing of any key.
    public func site(writeKey digest: SecretDigest) -> String? {
        sitesByWriteKey[digest]
    }

    /// Why an event for `site` is refused, or nil when it is taken. `origin` is the request's `Origin`
    /// header as `normalized(origin:)` gives it; `writeKey` the digest of the key it presented.
    ///
    /// A registered site takes an event when the request presents its write key; without one, when the site
    /// has no write key and the origin (if any) is one it lists (or it lists none), or when the site has a
    /// write key, lists origins, and the request comes from one of them (a browser, which cannot keep a key).
    public func refusal(site: String, origin: String?, writeKey: SecretDigest?, registeredOnly: Bool) -> IngestRefusal? {
        guard let registered = sites[site] else { return registeredOnly ? .unregisteredSite : nil }
        if let writeKey {
            return writeKey.matches(registered.writeKey ?? Self.unmatchable) ? nil : .wrongWriteKey
        }
        let originListed = origin.map { registered.origins.contains($0) }
        if registered.writeKey != nil {
            if originListed == true { return nil }
            return origin == nil || registered.origins.isEmpty ? .writeKeyRequired : .originNotAllowed
        }
        if originListed == false, !registered.origins.isEmpty { return .originNotAllowed }
        return nil
    }

    /// An `Origin` header as sites list origins: lowercase. One longer than any origin a site can list is
    /// not lowercased (a header of kilobytes would cost as much for every check) but made one no site lists.
    public static func normalized(origin: String) -> String {
        origin.utf8.count > 300 ? "\u{0}" : origin.lowercased()
    }


    /// A digest no presented secret hashes to in practice (all zero bytes).
    private static let unmatchable = SecretDigest(bytes: [UInt8](repeating: 0, count: 32))!
}

/// Why ingestion refuses an event.
public enum IngestRefusal: Sendable, Hashable {
    case unregisteredSite
    case originNotAllowed
    case writeKeyRequired
    case wrongWriteKey

    /// 401 for a missing or wrong key, 403 otherwise.
    public var needsCredentials: Bool { self == .writeKeyRequired || self == .wrongWriteKey }

    public var message: String {
        switch self {
        case .unregisteredSite: "site is not registered"
        case .originNotAllowed: "this site does not take events from this origin"
        case .writeKeyRequired: "this site requires its write key (HTTP Basic, the key as user name)"
        case .wrongWriteKey: "the write key is not this site's"
        }
    }
}

extension RegisteredSite {
    /// `text` as sites list an origin (`https://example.com`, `http://localhost:8080`), or nil when it is
    /// not one: an http or https scheme, a host, an optional port, and no path, query or user.
    public static func origin(_ text: String) -> String? {
        let lowered = text.lowercased()
        let rest: Substring
        if lowered.hasPrefix("https://") { rest = lowered.dropFirst(8) } else if lowered.hasPrefix("http://") { rest = lowered.dropFirst(7) } else { return nil }
        let trimmed = rest.hasSuffix("/") ? rest.dropLast() : rest
        guard !trimmed.isEmpty, trimmed.count <= 253 + 6,
              trimmed.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.:[]".contains($0)) }) else { return nil }
        if let colon = trimmed.lastIndex(of: ":"), !trimmed.hasSuffix("]") {
            let port = trimmed[trimmed.index(after: colon)...]
            guard let number = Int(port), (1...65535).contains(number), colon != trimmed.startIndex else { return nil }
        }
        return String(lowered.prefix(lowered.count - (rest.count - trimmed.count)))
    }
}
