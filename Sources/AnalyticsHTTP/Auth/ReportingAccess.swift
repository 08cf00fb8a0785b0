import AnalyticsCore
import Hummingbird

/// Whether the reporting API needs a token: `REPORTING_AUTH`.
public enum ReportingAuth: String, Sendable, CaseIterable {
    case required, off
}

/// Who may read which site on the reporting API: a read token of the registry, presented as
/// `Authorization: Bearer TOKEN` (never in the URL, where logs and proxies keep it).
public struct ReportingAccess: Sendable {
    let view: SiteRegistryView
    let retryAfter: Int
    /// How long a snapshot the registry has not confirmed is trusted: past it (the registry unreachable),
    /// every request is a 503, so that no revoked token is honoured for longer.
    let maximumAge: Duration

    public init(view: SiteRegistryView, retryAfter: Int = 1, maximumAge: Duration = .seconds(5)) {
        self.view = view
        self.retryAfter = retryAfter
        self.maximumAge = maximumAge
    }

    private static let challenge: HTTPFields = [.wwwAuthenticate: #"Bearer realm="analytics""#]
    private static let invalid: HTTPFields = [.wwwAuthenticate: #"Bearer realm="analytics", error="invalid_token""#]

    /// The live token the request presents; 401 without one, 503 while the registry has not confirmed
    /// its snapshot within `maximumAge` (or was never loaded).
    func reader(of request: Request) throws -> ReadToken {
        guard let snapshot = view.snapshot(maximumAge: maximumAge) else {
            throw APIError.unavailable("site registry unavailable", retryAfter: retryAfter)
        }
        switch AuthorizationHeader(request.headers) {
        case .bearer(let presented):
            guard let token = snapshot.token(presented: presented) else {
                throw APIError(.unauthorized, "the bearer token is not a live read token", headers: Self.invalid)
            }
            return token
        case .none:
            throw APIError(.unauthorized, "a read token is required: send Authorization: Bearer TOKEN", headers: Self.challenge)
        case .basic, .malformed:
            throw APIError(.unauthorized, "send the read token as Authorization: Bearer TOKEN", headers: Self.invalid)
        }
    }

    /// 403 unless `token` reads `site`.
    func authorize(_ token: ReadToken, site: String) throws {
        // Sorted and a handful long: a scan is cheaper than anything built for it.
        guard token.sites.contains(site) else {
            throw APIError(.forbidden, "this token does not read site \(site)")
        }
    }
}
