/// A site events may be sent for, and who may send them.
public struct RegisteredSite: Sendable, Hashable {
    public let id: String
    /// Browser origins (`https://example.com`, lowercase, no path) allowed to send events; empty for any.
    public var origins: [String]
    /// The digest of the site's write key; nil when server-side senders need none.
    public var writeKey: SecretDigest?
    /// The site's own ingestion limit; nil for the process's default (`RATE_LIMIT_SITE`).
    public var rateLimit: RateLimit?
    /// Microseconds since the Unix epoch.
    public let createdAt: Int64

    public init(id: String, origins: [String] = [], writeKey: SecretDigest? = nil, rateLimit: RateLimit? = nil, createdAt: Int64) {
        self.id = id
        self.origins = origins
        self.writeKey = writeKey
        self.rateLimit = rateLimit
        self.createdAt = createdAt
    }
}

/// A read token of the reporting API: which sites it may read, and whether it still may.
public struct ReadToken: Sendable, Hashable {
    /// The public part of the token (see `Credentials`).
    public let id: String
    public let name: String?
    /// The sites it reads, sorted.
    public var sites: [String]
    public let digest: SecretDigest
    /// Microseconds since the Unix epoch.
    public let createdAt: Int64
    public var revokedAt: Int64?

    public init(id: String, name: String?, sites: [String], digest: SecretDigest, createdAt: Int64, revokedAt: Int64? = nil) {
        self.id = id
        self.name = name
        self.sites = Array(Set(sites)).sorted()
        self.digest = digest
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// Why the registry refused a change.
public enum RegistryError: Error, Sendable, Hashable, CustomStringConvertible {
    case unknownSite(String)
    case tokenExists(String)
    /// The registry could not be reached or could not finish; nothing changed.
    case unavailable(String)

    public var description: String {
        switch self {
        case .unknownSite(let site): "no site \(site) is registered"
        case .tokenExists(let id): "a token with id \(id) exists already"
        case .unavailable(let reason): "site registry unavailable: \(reason)"
        }
    }
}

/// The sites events are taken for and the tokens that read them: kept in Postgres for real deployments
/// and in memory for tests and `serve --in-memory`. Reads on the request path go through a
/// `SiteRegistryView`, which holds the whole registry in memory and reloads it when `version` moves.
public protocol SiteRegistry: Sendable {
    /// Registers a site, or sets the origins and rate limit of one that is registered. Its write key,
    /// if any, stays.
    @discardableResult
    func addSite(_ id: String, origins: [String], rateLimit: RateLimit?, at now: Int64) async throws -> RegisteredSite

    /// Removes a site, its write key, and its grants from every token. Its events stay stored.
    /// Returns false when it was not registered.
    @discardableResult
    func removeSite(_ id: String) async throws -> Bool

    /// Sets (or replaces) a site's write key; throws `RegistryError.unknownSite` when it is not registered.
    func setWriteKey(_ digest: SecretDigest, forSite id: String) async throws

    /// Stores a new token; throws `unknownSite` when any of its sites is not registered.
    func addToken(_ token: ReadToken) async throws

    /// Revokes a token at `now`. Returns false when there is no such token or it is revoked already.
    @discardableResult
    func revokeToken(id: String, at now: Int64) async throws -> Bool

    /// Every site, sorted by id.
    func sites() async throws -> [RegisteredSite]

    /// Every token, revoked ones included, oldest first.
    func tokens() async throws -> [ReadToken]

    /// A number that changes whenever anything in the registry does: what a view polls.
    func version() async throws -> Int64

    /// The whole registry, live tokens only, as of one instant, with its version.
    func snapshot() async throws -> RegistrySnapshot
}

extension SiteRegistry {
    /// Registers a site with the default rate limit.
    @discardableResult
    public func addSite(_ id: String, origins: [String], at now: Int64) async throws -> RegisteredSite {
        try await addSite(id, origins: origins, rateLimit: nil, at: now)
    }
}
