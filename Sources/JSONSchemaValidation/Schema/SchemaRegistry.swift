/// A keyword beyond JSON Schema 2020-12. A registry asserts only the extensions it is given, so a
/// schema compiled without them means what the standard says: unknown keywords are annotations.
public enum SchemaExtension: String, Sendable, Hashable {
    /// `maxBytes`: a string is at most this many bytes in UTF-8. Storage limits are counted in bytes,
    /// which `maxLength` (code points) cannot state.
    case maxBytes
}

/// A set of JSON Schema documents that may refer to each other by `$id` and `$ref`.
/// Nothing is fetched: every `$ref` must resolve to a document added here, or to one of the 2020-12
/// metaschemas built into every registry (`Metaschemas`; adding a document with the same URI replaces one).
public struct SchemaRegistry: Sendable {
    struct Resource: Sendable, Hashable {
        let documentURI: String
        let pointer: JSONPointer
    }

    private(set) var documents: [String: JSONValue] = [:]
    /// Absolute URIs of schema resources (documents and embedded `$id`s), without fragment.
    private(set) var resources: [String: Resource] = [:]
    /// `resourceURI#anchor` to its location, for `$anchor` and `$dynamicAnchor` alike.
    private(set) var anchors: [String: Resource] = [:]
    /// `resourceURI#anchor` to its location, for `$dynamicAnchor` only.
    private(set) var dynamicAnchors: [String: Resource] = [:]
    /// Location key (`documentURI#pointer`) to the base URI in force there, for every schema position.
    private(set) var baseURIs: [String: String] = [:]
    /// Resource URI to the `$schema` in force there (absolute, without an empty fragment), where one is given.
    private(set) var dialects: [String: String] = [:]
    /// The built-in metaschemas that no added document has replaced.
    private var builtIns: Set<String> = []

    /// Keywords beyond 2020-12 that this registry's schemas may use.
    public let extensions: Set<SchemaExtension>
    /// Whether `format` is asserted (the default, which the contract requires) for the formats in
    /// `FormatAssertion.assertedFormats`. When false, `format` is an annotation only, as 2020-12's
    /// format-annotation vocabulary describes it; the keyword's value must still be a string.
    public let formatAssertion: Bool

    public init(extensions: Set<SchemaExtension> = [], formatAssertion: Bool = true) {
        let builtIn = Self.builtIn
        documents = builtIn.documents
        resources = builtIn.resources
        anchors = builtIn.anchors
        dynamicAnchors = builtIn.dynamicAnchors
        baseURIs = builtIn.baseURIs
        dialects = builtIn.dialects
        builtIns = builtIn.builtIns
        self.extensions = extensions
        self.formatAssertion = formatAssertion
    }

    private init(empty: Void) {
        extensions = []
        formatAssertion = true
    }

    /// The metaschemas, parsed and indexed once per process; every registry starts as a copy.
    private static let builtIn: SchemaRegistry = {
        var registry = SchemaRegistry(empty: ())
        do {
            for (uri, text) in Metaschemas.documents { try registry.add(json: text, uri: uri) }
        } catch {
            fatalError("a built-in metaschema does not load: \(error)")
        }
        registry.builtIns = Set(Metaschemas.documents.map(\.uri))
        return registry
    }()

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
        if documents[canonical] != nil {
            guard builtIns.contains(canonical) else {
                throw SchemaError(location: canonical, reason: "a schema with this URI is already registered")
            }
            removeDocument(canonical)
        }
        documents[canonical] = document
        resources[canonical] = Resource(documentURI: canonical, pointer: .root)
        if retrievalURI != canonical, resources[retrievalURI] == nil {
            resources[retrievalURI] = Resource(documentURI: canonical, pointer: .root)
        }
        index(document, documentURI: canonical, pointer: .root, base: canonical, dialect: nil)
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
        return JSONSchemaValidator(root: root, uri: uri, tracksDynamicScope: compiler.usesDynamicScope)
    }

    /// Forgets a built-in metaschema that a document with the same URI replaces.
    private mutating func removeDocument(_ uri: String) {
        documents[uri] = nil
        builtIns.remove(uri)
        let removed = Set(resources.filter { $0.value.documentURI == uri }.keys)
        resources = resources.filter { $0.value.documentURI != uri }
        anchors = anchors.filter { $0.value.documentURI != uri }
        dynamicAnchors = dynamicAnchors.filter { $0.value.documentURI != uri }
        baseURIs = baseURIs.filter { !$0.key.hasPrefix(uri + "#") }
        dialects = dialects.filter { !removed.contains($0.key) }
    }

    /// Walks the schema positions of a schema (the values of the keywords that hold subschemas, and nothing
    /// else: an `$id` inside an unknown keyword or inside `const` is data, not an identifier), recording
    /// embedded resources, anchors, the base URI at each position and each resource's `$schema`.
    private mutating func index(_ value: JSONValue, documentURI: String, pointer: JSONPointer, base: String, dialect: String?) {
        guard case .object(let object) = value else { return }
        var base = base
        var dialect = dialect
        var isResourceRoot = pointer.tokens.isEmpty
        if let id = object["$id"]?.stringValue, !pointer.tokens.isEmpty {
            let resolved = URIReference.splitFragment(URIReference.resolve(id, against: base)).0
            // An `$id` that is only a fragment, or empty, names no new resource (2020-12 allows neither):
            // it must not take the enclosing resource's URI away from it.
            if resolved != base {
                base = resolved
                resources[resolved] = Resource(documentURI: documentURI, pointer: pointer)
                isResourceRoot = true
            }
        }
        if isResourceRoot {
            if let schema = object["$schema"]?.stringValue {
                let (uri, fragment) = URIReference.splitFragment(URIReference.resolve(schema, against: base))
                dialect = fragment?.isEmpty ?? true ? uri : uri + "#" + fragment!
            }
            if let dialect { dialects[base] = dialect }
        }
        baseURIs[Self.key(documentURI, pointer)] = base
        let here = Resource(documentURI: documentURI, pointer: pointer)
        if let anchor = object["$anchor"]?.stringValue { anchors[base + "#" + anchor] = here }
        if let anchor = object["$dynamicAnchor"]?.stringValue {
            anchors[base + "#" + anchor] = here
            dynamicAnchors[base + "#" + anchor] = here
        }
        for (key, member) in object {
            if Self.schemaKeywords.contains(key) {
                index(member, documentURI: documentURI, pointer: pointer.appending(key), base: base, dialect: dialect)
            } else if Self.schemaMapKeywords.contains(key), case .object(let map) = member {
                let inner = pointer.appending(key)
                for (name, schema) in map {
                    index(schema, documentURI: documentURI, pointer: inner.appending(name), base: base, dialect: dialect)
                }
            } else if Self.schemaArrayKeywords.contains(key), case .array(let schemas) = member {
                let inner = pointer.appending(key)
                for (offset, schema) in schemas.enumerated() {
                    index(schema, documentURI: documentURI, pointer: inner.appending(offset), base: base, dialect: dialect)
                }
            }
        }
    }

    /// 2020-12 keywords whose value is a schema.
    static let schemaKeywords: Set<String> = [
        "additionalProperties", "propertyNames", "items", "contains", "not", "if", "then", "else",
        "unevaluatedItems", "unevaluatedProperties", "contentSchema",
    ]
    /// 2020-12 keywords whose value is an object of schemas.
    static let schemaMapKeywords: Set<String> = ["$defs", "properties", "patternProperties", "dependentSchemas"]
    /// 2020-12 keywords whose value is an array of schemas.
    static let schemaArrayKeywords: Set<String> = ["prefixItems", "allOf", "anyOf", "oneOf"]

    static func key(_ documentURI: String, _ pointer: JSONPointer) -> String {
        documentURI + "#" + pointer.description
    }

    /// The base URI at a location: that of the nearest enclosing schema position (a `$ref` by JSON Pointer may
    /// land inside an unknown keyword, which is not indexed).
    func baseURI(documentURI: String, pointer: JSONPointer) -> String {
        var tokens = pointer.tokens
        while true {
            if let base = baseURIs[Self.key(documentURI, JSONPointer(tokens))] { return base }
            if tokens.isEmpty { return documentURI }
            tokens.removeLast()
        }
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
