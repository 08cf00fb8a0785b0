import JSONSchemaValidation

/// Why input was refused: a one-line summary and every violation found.
public struct ContractViolation: Error, Sendable, Equatable {
    public let summary: String
    public let details: [SchemaViolation]

    public init(summary: String, details: [SchemaViolation]) {
        self.summary = summary
        self.details = details
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
        .object(JSONObject([
            ("error", .string(summary)),
            ("details", .array(details.map { detail in
                .object(JSONObject([
                    ("path", .string(detail.instancePath.description)),
                    ("keyword", .string(detail.keyword)),
                    ("message", .string(detail.message)),
                ]))
            })),
        ]))
    }
}
