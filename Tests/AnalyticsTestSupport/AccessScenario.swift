import AnalyticsCore
import AnalyticsSpec
import Foundation
import JSONSchemaValidation

/// A golden access case of `fixtures/access/`: a registry, the settings of the processes, events stored
/// first, then requests with the exact status, headers and body each must get (fixtures/README.md).
public struct AccessScenario: Sendable, CustomStringConvertible {
    public struct Request: Sendable {
        public let description: String
        public let method: String
        /// Path and query string.
        public let path: String
        public let headers: [(String, String)]
        public let body: JSONValue?
        public let status: Int
        public let responseHeaders: [(String, String)]
        public let response: JSONValue?

        /// Whether the ingestion API serves it (else reporting).
        public var isIngestion: Bool { path.hasPrefix("/event") }
    }

    public let name: String
    public let registry: JSONValue
    public let reportingAuth: String?
    public let ingestSites: String?
    /// `RATE/BURST` of every site and of every client address, when the case sets them.
    public let rateLimitSite: String?
    public let rateLimitAddress: String?
    /// `METRICS_TOKEN` of both processes, when the case sets it: then both serve `GET /metrics`.
    public let metricsToken: String?
    public let events: [JSONValue]
    public let requests: [Request]
    /// The sites of the events ingestion queued, in order; nil when the case does not say.
    public let queued: [String]?

    public var description: String { name }

    public static let folder = repositoryRoot.appendingPathComponent("fixtures/access")

    public static let all: [AccessScenario] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { name in
            let value = try! JSONParser.parse(Array(try! Data(contentsOf: folder.appendingPathComponent(name))))
            let pairs = { (object: JSONValue?) in
                object?.objectValue.map { $0.members.map { ($0.key, $0.value.stringValue!) } } ?? []
            }
            return AccessScenario(
                name: name, registry: value["registry"]!,
                reportingAuth: value["settings"]?["reporting_auth"]?.stringValue, ingestSites: value["settings"]?["ingest_sites"]?.stringValue,
                rateLimitSite: value["settings"]?["rate_limit_site"]?.stringValue, rateLimitAddress: value["settings"]?["rate_limit_address"]?.stringValue,
                metricsToken: value["settings"]?["metrics_token"]?.stringValue,
                events: value["events"]?.arrayValue ?? [],
                requests: value["requests"]!.arrayValue!.map { request in
                    Request(
                        description: request["description"]!.stringValue!, method: request["method"]!.stringValue!, path: request["path"]!.stringValue!,
                        headers: pairs(request["headers"]), body: request["body"], status: Int(request["status"]!.numberValue!),
                        responseHeaders: pairs(request["response_headers"]), response: request["response"])
                },
                queued: value["queued"]?.arrayValue?.map { $0.stringValue! })
        }
    }()

    /// Fills `registry` with the case's sites and tokens, digests only, as the CLI would.
    public func fill(_ registry: any SiteRegistry) async throws {
        for site in self.registry["sites"]!.arrayValue! {
            let id = site["site_id"]!.stringValue!
            try await registry.addSite(
                id, origins: site["origins"]?.arrayValue?.map { $0.stringValue! } ?? [], rateLimit: site["rate_limit"]?.stringValue.flatMap(RateLimit.init), at: 1)
            if let key = site["write_key"]?.stringValue { try await registry.setWriteKey(SecretDigest(of: key), forSite: id) }
        }
        for token in self.registry["tokens"]?.arrayValue ?? [] {
            let secret = token["token"]!.stringValue!
            let id = String(Credentials.readTokenID(secret)!)
            try await registry.addToken(ReadToken(
                id: id, name: nil, sites: token["sites"]!.arrayValue!.map { $0.stringValue! }, digest: SecretDigest(of: secret), createdAt: 1))
            if token["revoked"]?.boolValue == true { try await registry.revokeToken(id: id, at: 2) }
        }
    }

    /// The events stored before the requests, with IDs assigned.
    public func decodedEvents() -> [Event] {
        var generator = SystemRandomNumberGenerator()
        let newID = { EventID.version7(unixMilliseconds: 1_763_114_400_000, using: &generator) }
        return events.map { try! EventDecoder().decodeEvent(JSONWriter.bytes($0), newID: newID).get() }
    }
}
