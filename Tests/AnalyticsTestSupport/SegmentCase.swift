import AnalyticsSpec
import Foundation
import JSONSchemaValidation

/// A golden case of fixtures/segment: a body sent to one of Segment's endpoints for a site, received at
/// a given instant, and the events it becomes (with the counts of its message types) or the violations
/// that refuse it.
public struct SegmentCase: Sendable {
    public let file: String
    public let description: String
    /// `track` … `alias`, or `batch`.
    public let endpoint: String
    public let site: String
    /// Microseconds since the epoch.
    public let receivedAt: Int64
    public let body: JSONValue
    /// The schema's verdict on `body`.
    public let valid: Bool
    public let accepted: Bool
    /// The events, as the event contract's JSON objects (`EventCodec.json`).
    public let events: [JSONValue]
    public let counts: [String: Int]
    /// "path keyword" of every violation, sorted.
    public let errors: [String]

    public var testDescription: String { "\(file): \(description)" }

    public var kind: SegmentDecoder.Body {
        endpoint == "batch" ? .batch : .message(SegmentMessageType(rawValue: endpoint)!)
    }

    public var bodyBytes: [UInt8] { Array(JSONWriter.string(body).utf8) }

    public static let folder = repositoryRoot.appendingPathComponent("fixtures/segment")

    public static let all: [SegmentCase] = {
        var cases: [SegmentCase] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        for name in names {
            let items = try! JSONParser.parse(Array(try! Data(contentsOf: folder.appendingPathComponent(name)))).arrayValue!
            for item in items {
                guard case .success(let received) = RFC3339.parseDateTime(item["received_at"]!.stringValue!) else { fatalError("received_at") }
                cases.append(SegmentCase(
                    file: name,
                    description: item["description"]!.stringValue!,
                    endpoint: item["endpoint"]!.stringValue!,
                    site: item["site"]!.stringValue!,
                    receivedAt: received.microsecondsSinceEpoch,
                    body: item["body"]!,
                    valid: item["valid"]!.boolValue!,
                    accepted: item["accepted"]!.boolValue!,
                    events: item["events"]?.arrayValue ?? [],
                    counts: Dictionary(uniqueKeysWithValues: (item["counts"]?.objectValue ?? JSONObject()).map { ($0.key, Int($0.value.numberValue!)) }),
                    errors: (item["errors"]?.arrayValue ?? []).map { "\($0["path"]!.stringValue!) \($0["keyword"]!.stringValue!)" }.sorted()
                ))
            }
        }
        return cases
    }()
}
