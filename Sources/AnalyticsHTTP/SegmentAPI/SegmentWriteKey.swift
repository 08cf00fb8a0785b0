import AnalyticsCore
import AnalyticsSpec
import Hummingbird

/// Which site a Segment request writes to: the site whose write key it presents (the HTTP Basic user
/// name, as Segment's libraries send it, or `writeKey` in the body). A key that is no site's names the
/// site itself, for deployments without a registry (`INGEST_SITES=any`) and for registered sites without
/// a key. A key that looks like a secret never does (`looksLikeASecret`), so a real key sent to the wrong
/// server is not stored as a site's name for everyone who reads reports to see.
enum SegmentWriteKey {
    /// The site and, when the key is that site's write key, the key's digest. `registryExpected`: the
    /// process checks sites against a registry, so while none is loaded a key that could be a site's
    /// cannot be judged yet (503, which the libraries retry, rather than a 401 they would not).
    static func site(
        of request: Request, bodyKey: String?, snapshot: RegistrySnapshot?, registryExpected: Bool, retryAfter: Int,
        headers: HTTPFields
    ) throws -> (site: String, digest: SecretDigest?) {
        let challenge = IngestionAccess.writeKeyChallenge.merging(headers)
        var key = bodyKey
        switch AuthorizationHeader(request.headers) {
        case nil: break
        case .basic(let user, _): if !user.isEmpty { key = user }
        case .bearer, .malformed:
            throw APIError(.unauthorized, "send the write key as the HTTP Basic user name, with an empty password", headers: challenge)
        }
        guard let key, !key.isEmpty else {
            throw APIError(.unauthorized, "a write key is required: the HTTP Basic user name, or writeKey in the body", headers: challenge)
        }
        let digest = SecretDigest(of: key)
        if let site = snapshot?.site(writeKey: digest) { return (site, digest) }
        if snapshot == nil, registryExpected, looksLikeASecret(key) {
            throw APIError.unavailable("site registry not loaded yet", retryAfter: retryAfter, headers: headers)
        }
        guard !looksLikeASecret(key), FastEventReader.isSiteID(key) else {
            throw APIError(.unauthorized, "the write key is neither a site's write key nor a site id", headers: challenge)
        }
        return (key, nil)
    }

    /// This project's credentials (`wk_…`, `rt_…`), and long runs of letters and digits mixing both cases
    /// and digits, as Segment's and RudderStack's write keys are: never taken as a site's id.
    static func looksLikeASecret(_ key: String) -> Bool {
        if key.hasPrefix(Credentials.writeKeyPrefix) || key.hasPrefix(Credentials.readTokenPrefix) { return true }
        let bytes = Array(key.utf8)
        guard bytes.count >= 20, bytes.allSatisfy({ $0 < 0x80 && (Character(Unicode.Scalar($0)).isLetter || Character(Unicode.Scalar($0)).isNumber) }) else {
            return false
        }
        let upper = bytes.contains { (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains($0) }
        let lower = bytes.contains { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) }
        let digit = bytes.contains { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        return upper && lower && digit
    }
}
