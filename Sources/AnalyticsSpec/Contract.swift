import JSONSchemaValidation

/// The compiled contract: the validators for every document in spec/.
public struct Contract: Sendable {
    /// The base URI of the schema documents' `$id`s.
    public static let baseURI = "https://analytics.example/spec/"

    public let event: JSONSchemaValidator
    public let batch: JSONSchemaValidator
    public let statsQuery: JSONSchemaValidator
    public let statsResponse: JSONSchemaValidator
    public let timeseriesQuery: JSONSchemaValidator
    public let timeseriesResponse: JSONSchemaValidator
    public let breakdownQuery: JSONSchemaValidator
    public let breakdownResponse: JSONSchemaValidator
    public let error: JSONSchemaValidator
    /// The validators of Segment's messages (spec/segment-*.schema.json); nil for a contract built from
    /// documents without them.
    public let segment: SegmentContract?
    /// The script tag's hits (spec/collect.schema.json); nil for a contract built without it.
    public let collect: JSONSchemaValidator?
    /// The body of `GET /sites` (spec/sites-response.schema.json); nil for a contract built without it.
    public let sitesResponse: JSONSchemaValidator?
    /// The registry holding every contract document, for compiling client schemas that refer to them.
    public let registry: SchemaRegistry
    /// True for the contract built into this binary, whose event schema `FastEventReader` mirrors.
    public let isEmbedded: Bool
    /// The batch schema's `maxItems`: a longer batch is refused before its items are validated.
    public let batchMaximumItems: Int?

    /// The contract embedded in this binary, compiled once per process.
    public static let embedded: Contract = {
        do {
            return try Contract(documents: embeddedDocuments, isEmbedded: true)
        } catch {
            fatalError("the embedded contract does not compile: \(error)")
        }
    }()

    /// The schema documents built into this binary, by file name; byte-identical to spec/.
    public static var embeddedDocuments: [(name: String, text: String)] { EmbeddedSpec.documents }

    /// Compiles a contract from schema documents given by file name and text.
    public init(documents: [(name: String, text: String)]) throws(SchemaError) {
        try self.init(documents: documents, isEmbedded: false)
    }

    private init(documents: [(name: String, text: String)], isEmbedded: Bool) throws(SchemaError) {
        self.isEmbedded = isEmbedded
        var registry = SchemaRegistry(extensions: [.maxBytes])
        for document in documents {
            try registry.add(json: document.text, uri: Self.baseURI + document.name)
        }
        self.registry = registry
        batchMaximumItems = Self.maxItems(of: documents.first { $0.name == "batch.schema.json" }?.text)
        event = try registry.validator(for: Self.baseURI + "event.schema.json")
        batch = try registry.validator(for: Self.baseURI + "batch.schema.json")
        statsQuery = try registry.validator(for: Self.baseURI + "stats-query.schema.json")
        statsResponse = try registry.validator(for: Self.baseURI + "stats-response.schema.json")
        timeseriesQuery = try registry.validator(for: Self.baseURI + "timeseries-query.schema.json")
        timeseriesResponse = try registry.validator(for: Self.baseURI + "timeseries-response.schema.json")
        breakdownQuery = try registry.validator(for: Self.baseURI + "breakdown-query.schema.json")
        breakdownResponse = try registry.validator(for: Self.baseURI + "breakdown-response.schema.json")
        error = try registry.validator(for: Self.baseURI + "error.schema.json")
        segment = documents.contains { $0.name == "segment-batch.schema.json" } ? try SegmentContract(registry: registry) : nil
        collect = documents.contains { $0.name == "collect.schema.json" } ? try registry.validator(for: Self.baseURI + "collect.schema.json") : nil
        sitesResponse = documents.contains { $0.name == "sites-response.schema.json" }
            ? try registry.validator(for: Self.baseURI + "sites-response.schema.json") : nil
    }

    private static func maxItems(of document: String?) -> Int? {
        guard let document, let parsed = try? JSONParser.parse(document), let limit = parsed["maxItems"]?.numberValue,
            limit.rounded() == limit, limit >= 0, limit < 1e15
        else { return nil }
        return Int(limit)
    }
}

/// The validators of Segment's HTTP Tracking API: one per message type and the batch.
public struct SegmentContract: Sendable {
    public let messages: [SegmentMessageType: JSONSchemaValidator]
    public let batch: JSONSchemaValidator

    init(registry: SchemaRegistry) throws(SchemaError) {
        var messages: [SegmentMessageType: JSONSchemaValidator] = [:]
        for type in SegmentMessageType.allCases {
            messages[type] = try registry.validator(for: Contract.baseURI + "segment-\(type.rawValue).schema.json")
        }
        self.messages = messages
        batch = try registry.validator(for: Contract.baseURI + "segment-batch.schema.json")
    }
}
