import AnalyticsCore
import AnalyticsSpec
import HTTPTypes
import Hummingbird

/// Ingestion's rate limits: token buckets per site and per client address, kept in the queue (Redis for
/// real deployments, so every ingestion process shares them) and drawn in the same atomic step that
/// queues the events.
public struct RateLimits: Sendable {
    /// Each site's limit unless the registry gives it its own; nil for none.
    public var site: RateLimit?
    /// Each client address's limit (an IPv6 client's /64), for requests that present no valid write
    /// key; nil for none.
    public var address: RateLimit?
    public var clients: ClientAddressResolver

    public init(site: RateLimit? = nil, address: RateLimit? = nil, clients: ClientAddressResolver = ClientAddressResolver()) {
        self.site = site
        self.address = address
        self.clients = clients
    }

    /// No limits: what `serve --in-memory` runs with.
    public static let off = RateLimits()

    /// The draws of `events`: one per site (its events' count), and one for `addressBucket` (nil when the
    /// request proved itself with a write key). `snapshot` only when some site has a limit of its own.
    func draws(for events: [Event], addressBucket: String?, snapshot: RegistrySnapshot?) -> [BucketDraw] {
        var draws: [BucketDraw] = []
        draws.reserveCapacity(2)
        if events.count == 1 {
            if let limit = snapshot?.sites[events[0].siteID]?.rateLimit ?? site {
                draws.append(BucketDraw(key: "site:" + events[0].siteID, policy: "site", limit: limit, cost: 1))
            }
        } else {
            var counts: [String: Int] = [:]
            var order: [String] = []
            for event in events {
                if counts[event.siteID] == nil { order.append(event.siteID) }
                counts[event.siteID, default: 0] += 1
            }
            for siteID in order {
                guard let limit = snapshot?.sites[siteID]?.rateLimit ?? site else { continue }
                draws.append(BucketDraw(key: "site:" + siteID, policy: "site", limit: limit, cost: counts[siteID]!))
            }
        }
        if let address, let addressBucket {
            draws.append(BucketDraw(key: addressBucket, policy: "address", limit: address, cost: events.count))
        }
        return draws
    }

    /// The 429 of a refused draw: `Retry-After` in whole seconds (at least 1), and the IETF draft's
    /// `RateLimit-Policy` (every policy drawn from: quota and window) and `RateLimit` (the one refused: no
    /// tokens remaining, and the seconds until there are enough) fields.
    static func refusal(_ draws: [BucketDraw], index: Int, retryAfter: Duration, headers: HTTPFields) -> APIError {
        let refused = draws[index]
        let seconds = max(1, Int((Double(retryAfter.components.seconds) + Double(retryAfter.components.attoseconds) / 1e18).rounded(.up)))
        var headers = headers
        headers[.retryAfter] = String(seconds)
        var policies: [String] = []
        for draw in draws where !policies.contains(where: { $0.hasPrefix("\"\(draw.policy)\"") }) {
            policies.append("\"\(draw.policy)\";q=\(draw.limit.burst);w=\(draw.limit.window)")
        }
        headers[.rateLimitPolicy] = policies.joined(separator: ", ")
        headers[.rateLimit] = "\"\(refused.policy)\";r=0;t=\(seconds)"
        let subject = refused.policy == "site" ? "site \(refused.key.dropFirst("site:".count))" : "this client address"
        return APIError(
            .tooManyRequests,
            "rate limit of \(subject) reached (\(refused.limit.description) events a second/burst); retry after \(seconds) s",
            headers: headers)
    }
}

extension HTTPField.Name {
    static let rateLimitPolicy = Self("RateLimit-Policy")!
    static let rateLimit = Self("RateLimit")!
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
