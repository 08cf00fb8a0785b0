import AnalyticsCore
import AnalyticsSpec
import Hummingbird

/// Which site a Segment request writes to: the site whose write key it presents (the HTTP Basic user
/// name, as Segment's libraries send it, or `writeKey` in the body). A key that is no site's names the
/// site itself, for deployments without a registry (`INGEST_SITES=any`) and for registered sites without
/// a key; a key in the shape of a write key never does, so a real key sent to the wrong server is not
/// stored as a site name.
enum SegmentWriteKey {
    /// The site and, when the key is that site's write key, the key's digest.
    static func site(
        of request: Request, bodyKey: String?, snapshot: RegistrySnapshot?, headers: HTTPFields
    ) throws -> (site: String, digest: SecretDigest?) {
        let challenge = IngestionAccess.writeKeyChallenge.merging(headers)
        var key = bodyKey
        switch AuthorizationHeader(request.headers) {
        case nil: break
        case .basic(let user, _): key = user
        case .bearer, .malformed:
            throw APIError(.unauthorized, "send the write key as the HTTP Basic user name, with an empty password", headers: challenge)
        }
        guard let key, !key.isEmpty else {
            throw APIError(.unauthorized, "a write key is required: the HTTP Basic user name, or writeKey in the body", headers: challenge)
        }
        let digest = SecretDigest(of: key)
        if let site = snapshot?.site(writeKey: digest) { return (site, digest) }
        guard !key.hasPrefix(Credentials.writeKeyPrefix), FastEventReader.isSiteID(key) else {
            throw APIError(.unauthorized, "the write key is neither a site's write key nor a site id", headers: challenge)
        }
        return (key, nil)
    }
}
