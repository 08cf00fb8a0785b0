import AnalyticsCore
import AnalyticsSpec
import Foundation
import JSONSchemaValidation

/// A golden scenario from fixtures/scenarios: events to ingest, then queries with their exact answers.
public struct Scenario: Sendable {
    public struct Query: Sendable {
        /// `/stats`, `/stats/timeseries` or `/stats/breakdown`.
        public let endpoint: String
        /// The query string, without the `?`.
        public let query: String
        public let status: Int
        /// The exact answer, except that a `next_cursor` of `"*"` stands for any cursor (cursors are opaque).
        public let body: JSONValue

        /// The path and query string to request.
        public var uri: String { endpoint + "?" + query }

        /// True when `answer` is the expected body.
        public func matches(_ answer: JSONValue) -> Bool {
            guard body["next_cursor"]?.stringValue == "*", case .object(var members) = answer,
                case .object(var expected) = body, members["next_cursor"]?.stringValue != nil
            else { return JSONWriter.string(answer) == JSONWriter.string(body) }
            members["next_cursor"] = .string("*")
            expected["next_cursor"] = .string("*")
            return JSONWriter.string(.object(members)) == JSONWriter.string(.object(expected))
        }

        /// The contract's schema for this answer.
        public var responseSchema: JSONSchemaValidator {
            guard status == 200 else { return Contract.embedded.error }
            switch endpoint {
            case "/stats/timeseries": return Contract.embedded.timeseriesResponse
            case "/stats/breakdown": return Contract.embedded.breakdownResponse
            default: return Contract.embedded.statsResponse
            }
        }

        /// The store's answer to this query, parsed as the server parses it.
        public func answer(from store: any EventStore) async throws -> JSONValue {
            let parameters = Scenario.parameters(query)
            switch endpoint {
            case "/stats/timeseries": return try await store.timeseries(TimeseriesQuery.parse(parameters).get()).json
            case "/stats/breakdown": return try await store.breakdown(BreakdownQuery.parse(parameters).get()).json
            default: return try await store.stats(StatsQuery.parse(parameters).get()).json
            }
        }
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
                    Query(
                        endpoint: $0["endpoint"]?.stringValue ?? "/stats", query: $0["query"]!.stringValue!,
                        status: Int($0["status"]!.numberValue!), body: $0["body"]!)
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

    /// The query parameters of a query string as the reporting API reads them: `%XX` decoded, and `+` a
    /// space in `event_type` (as forms write one) and itself elsewhere.
    public static func parameters(_ query: String) -> [(name: String, value: String)] {
        query.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring, plusIsSpace: Bool) in
                let spaced = plusIsSpace ? text.replacingOccurrences(of: "+", with: " ") : String(text)
                return spaced.removingPercentEncoding ?? spaced
            }
            let name = decode(parts[0], false)
            return (name, parts.count > 1 ? decode(parts[1], name == "event_type") : "")
        }
    }
}

/// The root of this repository.
public let repositoryRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
