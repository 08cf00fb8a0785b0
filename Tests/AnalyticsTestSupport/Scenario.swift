import AnalyticsSpec
import Foundation
import JSONSchemaValidation

/// A golden scenario from fixtures/scenarios: events to ingest, then queries with their exact answers.
public struct Scenario: Sendable {
    public struct Query: Sendable {
        /// The query string of `GET /stats`, without the `?`.
        public let query: String
        public let status: Int
        public let body: JSONValue
    }

    public let name: String
    public let description: String
    /// Each posted alone to `POST /event`.
    public let events: [JSONValue]
    /// Each posted to `POST /events`, after the single events.
    public let batches: [[JSONValue]]
    public let queries: [Query]

    public var testDescription: String { name }

    public static let folder = repositoryRoot.appendingPathComponent("fixtures/scenarios")

    public static let all: [Scenario] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.filter { $0.hasSuffix(".json") }.sorted().map { name in
            let value = try! JSONParser.parse(Array(try! Data(contentsOf: folder.appendingPathComponent(name))))
            return Scenario(
                name: name,
                description: value["description"]!.stringValue!,
                events: value["events"]!.arrayValue!,
                batches: value["batches"]?.arrayValue?.map { $0.arrayValue! } ?? [],
                queries: value["queries"]!.arrayValue!.map {
                    Query(query: $0["query"]!.stringValue!, status: Int($0["status"]!.numberValue!), body: $0["body"]!)
                }
            )
        }
    }()

    /// Every event of the scenario as the store receives it, in ingestion order, with IDs assigned.
    public func decodedEvents() -> [Event] {
        var generator = SystemRandomNumberGenerator()
        let decoder = EventDecoder()
        let newID = { EventID.version7(unixMilliseconds: 1_763_114_400_000, using: &generator) }
        return (events + batches.flatMap { $0 }).map { value in
            try! decoder.decodeEvent(JSONWriter.bytes(value), newID: newID).get()
        }
    }

    /// The query parameters of a query string, percent-decoded.
    public static func parameters(_ query: String) -> [(name: String, value: String)] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in text.removingPercentEncoding ?? String(text) }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }
}

/// The root of this repository.
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
