/// A keyword beyond JSON Schema 2020-12. A registry asserts only the extensions it is given, so a
/// schema compiled without them means what the standard says: unknown keywords are annotations.
public enum SchemaExtension: String, Sendable, Hashable {
    /// `maxBytes`: a string is at most this many bytes in UTF-8. Storage limits are counted in bytes,
    /// which `maxLength` (code points) cannot state.
    case maxBytes
}

/// A set of JSON Schema documents that may refer to each other by `$id` and `$ref`.
/// Nothing is fetched: every `$ref` must resolve to a document added here.
public struct SchemaRegistry: Sendable {
    struct Resource: Sendable {
        let documentURI: String
        let pointer: JSONPointer
    }

    private(set) var documents: [String: JSONValue] = [:]
    /// Absolute URIs of schema resources (documents and embedded `$id`s), without fragment.
    private(set) var resources: [String: Resource] = [:]
    /// `resourceURI#anchor` to its location.
    private(set) var anchors: [String: Resource] = [:]
    /// Location key (`documentURI#pointer`) to the base URI in force there.
    private(set) var baseURIs: [String: String] = [:]

    /// Keywords beyond 2020-12 that this registry's schemas may use.
    public let extensions: Set<SchemaExtension>

    public init(extensions: Set<SchemaExtension> = []) {
        self.extensions = extensions
    }

    /// Adds a schema document, known by `uri` unless its own `$id` says otherwise.
    /// Returns the URI it is registered under.
    @discardableResult
    public mutating func add(_ document: JSONValue, uri: String) throws(SchemaError) -> String {
        let retrievalURI = URIReference.splitFragment(uri).0
        let canonical: String
        if let id = document["$id"]?.stringValue {
            canonical = URIReference.splitFragment(URIReference.resolve(id, against: retrievalURI)).0
        } else {
            canonical = retrievalURI
        }
        guard documents[canonical] == nil else {
            throw SchemaError(location: canonical, reason: "a schema with this URI is already registered")
        }
        documents[canonical] = document
        resources[canonical] = Resource(documentURI: canonical, pointer: .root)
        if retrievalURI != canonical, resources[retrievalURI] == nil {
            resources[retrievalURI] = Resource(documentURI: canonical, pointer: .root)
        }
        try index(document, documentURI: canonical, pointer: .root, base: canonical)
        return canonical
    }

    /// Parses and adds a schema document from JSON text.
    @discardableResult
    public mutating func add(json text: String, uri: String) throws(SchemaError) -> String {
        let document: JSONValue
        do {
            document = try JSONParser.parse(text)
        } catch {
            throw SchemaError(location: uri, reason: "not valid JSON: \(error)")
        }
        return try add(document, uri: uri)
    }

    /// Compiles the schema at `uri` (optionally with a `#/pointer` or `#anchor` fragment).
    public func validator(for uri: String) throws(SchemaError) -> JSONSchemaValidator {
        var compiler = SchemaCompiler(registry: self)
        let root = try compiler.compile(reference: uri, base: uri, at: uri)
        try compiler.finish()
        return JSONSchemaValidator(root: root, uri: uri)
    }

    /// Walks schema positions, recording embedded resources, anchors and the base URI at each location.
    private mutating func index(
        _ value: JSONValue, documentURI: String, pointer: JSONPointer, base: String
    ) throws(SchemaError) {
        guard case .object(let object) = value else {
            if case .array(let elements) = value {
                for (offset, element) in elements.enumerated() {
                    try index(element, documentURI: documentURI, pointer: pointer.appending(offset), base: base)
                }
            }
            return
        }
        var base = base
        if let id = object["$id"]?.stringValue, !pointer.tokens.isEmpty {
            let resolved = URIReference.splitFragment(URIReference.resolve(id, against: base)).0
            base = resolved
            resources[resolved] = Resource(documentURI: documentURI, pointer: pointer)
        }
        baseURIs[Self.key(documentURI, pointer)] = base
        for keyword in ["$anchor", "$dynamicAnchor"] {
            if let anchor = object[keyword]?.stringValue {
                anchors[base + "#" + anchor] = Resource(documentURI: documentURI, pointer: pointer)
            }
        }
        for (key, member) in object where !Self.dataKeywords.contains(key) {
            try index(member, documentURI: documentURI, pointer: pointer.appending(key), base: base)
        }
    }

    /// Keywords whose values are instance data, not schemas, so a `$id` inside them means nothing.
    private static let dataKeywords: Set<String> = ["const", "enum", "examples", "default"]

    static func key(_ documentURI: String, _ pointer: JSONPointer) -> String {
        documentURI + "#" + pointer.description
    }

    func baseURI(documentURI: String, pointer: JSONPointer) -> String {
        baseURIs[Self.key(documentURI, pointer)] ?? documentURI
    }

    /// The document and pointer a reference designates.
    func locate(_ absolute: String) -> Resource? {
        let (resourceURI, fragment) = URIReference.splitFragment(absolute)
        guard let resource = resources[resourceURI] else { return nil }
        guard let fragment, !fragment.isEmpty else { return resource }
        let decoded = URIReference.percentDecoded(fragment)
        if decoded.hasPrefix("/") {
            guard let relative = JSONPointer(parsing: decoded) else { return nil }
            return Resource(documentURI: resource.documentURI, pointer: JSONPointer(resource.pointer.tokens + relative.tokens))
        }
        return anchors[resourceURI + "#" + decoded]
    }
}
