import JSONSchemaValidation

/// Why input was refused: a one-line summary and the violations found, at most `maximumDetails` of them
/// listed and the rest counted in `omitted`.
public struct ContractViolation: Error, Sendable, Equatable {
    /// The most violations an answer lists: enough to fix a request, and with `maximumTextLength`, an
    /// answer of at most about 50 KiB whatever the request.
    public static let maximumDetails = 100
    /// The most characters of a detail's path or message an answer carries: a path into a member whose
    /// name is half a megabyte long is cut, not echoed.
    public static let maximumTextLength = 200

    public let summary: String
    public let details: [SchemaViolation]
    /// Violations found beyond those in `details`.
    public let omitted: Int

    public init(summary: String, details: [SchemaViolation], omitted: Int = 0) {
        self.summary = summary
        self.details = details
        self.omitted = omitted
    }

    /// Input that is not JSON at all.
    public static func malformedJSON(_ error: JSONParseError) -> ContractViolation {
        ContractViolation(
            summary: "body is not valid JSON",
            details: [SchemaViolation(instancePath: .root, keyword: "json", message: error.description)]
        )
    }

    /// The error body of the contract (spec/error.schema.json).
    public var errorBody: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("error", .string(summary)),
            ("details", .array(details.map { detail in
                .object(JSONObject(uniqueMembers: [
                    ("path", .string(Self.shortened(detail.instancePath.description))),
                    ("keyword", .string(Self.shortened(detail.keyword))),
                    ("message", .string(Self.shortened(detail.message))),
                ]))
            })),
        ]
        if omitted > 0 { members.append(("omitted", .number(Double(omitted)))) }
        return .object(JSONObject(uniqueMembers: members))
    }

    /// `text` cut to `maximumTextLength` characters, marked with "…" where it was cut.
    static func shortened(_ text: String) -> String {
        guard text.unicodeScalars.count > maximumTextLength else { return text }
        var scalars = String.UnicodeScalarView()
        scalars.append(contentsOf: text.unicodeScalars.prefix(maximumTextLength - 1))
        scalars.append("…")
        return String(scalars)
    }
}
