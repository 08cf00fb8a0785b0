import AnalyticsCore
import AnalyticsSpec
import Hummingbird
import JSONSchemaValidation

/// Which sites ingestion takes events for: `INGEST_SITES`.
public enum IngestSites: String, Sendable, CaseIterable {
    /// Any site; a registered one still holds senders to its origins and write key.
    case any
    /// Registered sites only.
    case registered
}

/// What ingestion asks of a request before it queues its events: registered sites (`registered`), the
/// site's browser origins, its write key. And the CORS headers its answers carry.
public struct IngestionAccess: Sendable {
    let view: SiteRegistryView
    let sites: IngestSites
    let retryAfter: Int

    public init(view: SiteRegistryView, sites: IngestSites, retryAfter: Int = 1) {
        self.view = view
        self.sites = sites
        self.retryAfter = retryAfter
    }

    private static let challenge: HTTPFields = [.wwwAuthenticate: #"Basic realm="analytics""#]

    /// Throws the refusal of `events`: 401 when a site's write key is missing or wrong, else 403 for an
    /// unregistered site or an origin a site does not list; each refused event is a detail. A batch is
    /// taken or refused whole. 503 while the registry was never loaded. Returns whether the request
    /// presented a write key that every event's site has (it then draws from no address bucket).
    @discardableResult
    func check(_ events: [Event], request: Request, inBatch: Bool, headers: HTTPFields, snapshot: RegistrySnapshot?) throws -> Bool {
        guard let snapshot else {
            // `any` takes every site, as the seed did, until the registry is loaded: a process started while
            // Postgres is down still takes events (a registered site's rules apply once it is loaded).
            if sites == .any { return false }
            throw APIError.unavailable("site registry not loaded yet", retryAfter: retryAfter, headers: headers)
        }
        if snapshot.sites.isEmpty, sites == .any { return false }
        let origin = request.headers.value(of: .origin).map(RegistrySnapshot.normalized(origin:))
        let authorization = AuthorizationHeader(request.headers)
        let writeKey: SecretDigest?
        switch authorization {
        case .none, .bearer: writeKey = nil
        case .basic(let user, _): writeKey = SecretDigest(of: user)
        case .malformed:
            throw APIError(.unauthorized, "malformed Authorization header: send the write key as HTTP Basic user name", headers: Self.challenge.merging(headers))
        }
        var details: [SchemaViolation] = []
        var refused = 0
        var needsCredentials = false
        var keyed = writeKey != nil
        for (index, event) in events.enumerated() {
            if keyed, snapshot.sites[event.siteID]?.writeKey == nil { keyed = false }
            guard let refusal = snapshot.refusal(site: event.siteID, origin: origin, writeKey: writeKey, registeredOnly: sites == .registered) else {
                continue
            }
            refused += 1
            needsCredentials = needsCredentials || refusal.needsCredentials
            if details.count < ContractViolation.maximumDetails {
                let path = inBatch ? JSONPointer([.index(index), .key("site_id")]) : JSONPointer([.key("site_id")])
                details.append(SchemaViolation(instancePath: path, keyword: refusal.keyword, message: "\(refusal.message): \(event.siteID)"))
            }
        }
        guard refused > 0 else { return keyed }
        let summary = inBatch ? "\(refused) of \(events.count) events refused; none was taken" : "event refused"
        throw APIError(
            needsCredentials ? .unauthorized : .forbidden, summary, details: details, omitted: refused - details.count,
            headers: needsCredentials ? Self.challenge.merging(headers) : headers)
    }

    /// Throws the refusal of a request whose events are all for `site` (Segment's API, where the write key
    /// names the site): as `check`, with the key's digest when it is the site's (`writeKey`) and nil when
    /// the key only names the site. 401 for a key that names no site in `registered` mode.
    func check(site: String, writeKey: SecretDigest?, request: Request, headers: HTTPFields, snapshot: RegistrySnapshot?) throws {
        guard let snapshot else {
            if sites == .any { return }
            throw APIError.unavailable("site registry not loaded yet", retryAfter: retryAfter, headers: headers)
        }
        if snapshot.sites.isEmpty, sites == .any { return }
        let origin = request.headers.value(of: .origin).map(RegistrySnapshot.normalized(origin:))
        guard let refusal = snapshot.refusal(site: site, origin: origin, writeKey: writeKey, registeredOnly: sites == .registered) else { return }
        if refusal == .unregisteredSite {
            throw APIError(
                .unauthorized, "the write key is not a registered site's key", headers: Self.challenge.merging(headers))
        }
        throw APIError(
            refusal.needsCredentials ? .unauthorized : .forbidden, "request refused",
            details: [SchemaViolation(instancePath: .root, keyword: refusal.keyword, message: "\(refusal.message): \(site)")],
            headers: refusal.needsCredentials ? Self.challenge.merging(headers) : headers)
    }

    static var writeKeyChallenge: HTTPFields { challenge }

    /// The CORS headers of an answer to `request` when they differ from `fallback` (`*`): the request's
    /// origin, named, when a site lists it, and `Vary: Origin` whenever some site lists origins (answers
    /// then differ by origin). Nil when `fallback` holds.
    func corsHeaders(for request: Request, fallback: HTTPFields, snapshot: RegistrySnapshot?) -> HTTPFields? {
        guard let snapshot, !snapshot.listedOrigins.isEmpty, !fallback.isEmpty else { return nil }
        var headers = fallback
        headers[.vary] = "Origin"
        if let origin = request.headers.value(of: .origin), snapshot.listedOrigins.contains(RegistrySnapshot.normalized(origin: origin)) {
            headers[.accessControlAllowOrigin] = origin
        }
        return headers
    }
}

extension IngestRefusal {
    var keyword: String {
        switch self {
        case .unregisteredSite: "registered"
        case .originNotAllowed: "origin"
        case .writeKeyRequired, .wrongWriteKey: "writeKey"
        }
    }
}

extension HTTPFields {
    func merging(_ other: HTTPFields) -> HTTPFields {
        var merged = self
        for field in other { merged.append(field) }
        return merged
    }
}
