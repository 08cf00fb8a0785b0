import JSONSchemaValidation

/// A hit of the script tag (`POST /collect`, spec/collect.schema.json): what the browser says.
public struct TrackerHit: Sendable, Equatable {
    public let siteID: String
    public let eventType: String
    /// The page's address, whose path becomes the event's.
    public let url: String
}

/// Reads the script tag's hits and makes their events, the server supplying what a browser is not
/// trusted with: the time, the id and the visitor (docs/tracker.md).
public struct TrackerHitDecoder: Sendable {
    /// The most bytes a hit takes.
    public static let maximumBytes = 8 * 1024

    private let collect: JSONSchemaValidator
    private let eventDecoder: EventDecoder

    /// Nil for a contract without spec/collect.schema.json.
    public init?(contract: Contract = .embedded) {
        guard let collect = contract.collect else { return nil }
        self.collect = collect
        eventDecoder = EventDecoder(contract: contract)
    }

    public func decode(_ body: UnsafeBufferPointer<UInt8>) -> Result<TrackerHit, ContractViolation> {
        let value: JSONValue
        do {
            value = try JSONParser.parse(body)
        } catch {
            return .failure(.malformedJSON(error))
        }
        let (errors, omitted) = collect.validate(value, keepingAtMost: ContractViolation.maximumDetails)
        guard errors.isEmpty, let site = value["site_id"]?.stringValue, let url = value["url"]?.stringValue else {
            return .failure(ContractViolation(summary: "invalid hit", details: errors, omitted: omitted))
        }
        return .success(TrackerHit(siteID: site, eventType: value["event_type"]?.stringValue ?? "pageview", url: url))
    }

    public func decode(_ body: [UInt8]) -> Result<TrackerHit, ContractViolation> {
        body.withUnsafeBufferPointer(decode)
    }

    /// The hit's event, checked against the event contract: a URL whose path the contract cannot hold is
    /// a violation at `/url`.
    public func event(of hit: TrackerHit, visitor: String, timestamp: Int64, id: EventID) -> Result<Event, ContractViolation> {
        let candidate = JSONValue.object(JSONObject(uniqueMembers: [
            ("event_id", .string(id.description)),
            ("site_id", .string(hit.siteID)),
            ("event_type", .string(hit.eventType)),
            ("path", .string(URLPath.of(hit.url))),
            ("user_id", .string(visitor)),
            ("timestamp", .string(RFC3339Formatter.utc(microseconds: timestamp))),
        ]))
        return eventDecoder.decodeEvent(Array(JSONWriter.string(candidate).utf8)) { id }.mapError { violation in
            ContractViolation(summary: "invalid hit", details: violation.details.map { detail in
                guard detail.instancePath == JSONPointer([.key("path")]) else { return detail }
                return SchemaViolation(instancePath: JSONPointer([.key("url")]), keyword: detail.keyword, message: "as the event's path: \(detail.message)")
            }, omitted: violation.omitted)
        }
    }
}
