/// Turns schema JSON into `SchemaNode`s. Each location is compiled once; `$ref`s share the node
/// of the location they point to, which is how recursive schemas become cycles in the graph.
struct SchemaCompiler {
    private let registry: SchemaRegistry
    private var nodes: [String: SchemaNode] = [:]
    private var pending: [(SchemaNode, SchemaRegistry.Resource)] = []
    /// The schema resources (base URIs) of the nodes compiled so far; a node's `resource` indexes this.
    private var resourceURIs: [String] = []
    private var resourceIDs: [String: Int32] = [:]
    /// Every `$dynamicRef` compiled, whose dynamic candidates `finish` fills in.
    private var dynamicReferences: [DynamicReference] = []
    /// Active vocabularies by dialect (`$schema`) URI.
    private var vocabularyCache: [String: Vocabularies] = [:]
    /// True once a `$dynamicRef` that resolves through the dynamic scope is compiled: evaluation then tracks
    /// the scope. Without one, it does not, and costs nothing more than before `$dynamicRef` existed.
    private(set) var usesDynamicScope = false

    /// Keywords this validator does not implement that a 2020-12 schema may still carry by mistake (2019-09's
    /// `$recursiveRef`, which `$dynamicRef` replaced). A schema using one is refused, because ignoring it
    /// would silently accept instances the schema's author meant to reject.
    static let unsupportedKeywords: Set<String> = ["$recursiveRef"]

    init(registry: SchemaRegistry) { self.registry = registry }

    mutating func compile(reference: String, base: String, at location: String) throws(SchemaError) -> SchemaNode {
        let absolute = URIReference.resolve(reference, against: base)
        guard let resource = registry.locate(absolute) else {
            throw SchemaError(location: location, reason: "cannot resolve reference \"\(reference)\" (\(absolute))")
        }
        return try node(for: resource, at: location)
    }

    /// Compiles everything reachable that is still pending, including every `$dynamicAnchor` a dynamic
    /// `$dynamicRef` may resolve to from a resource that evaluation can enter.
    mutating func finish() throws(SchemaError) {
        repeat {
            while let (node, resource) = pending.popLast() {
                node.body = try body(of: resource, location: node.location)
            }
            for reference in dynamicReferences where reference.isDynamic {
                while reference.resourcesSeen < resourceURIs.count {
                    let index = reference.resourcesSeen
                    reference.resourcesSeen += 1
                    let anchor = resourceURIs[index] + "#" + reference.anchor
                    guard let target = registry.dynamicAnchors[anchor] else { continue }
                    reference.candidates[Int32(index)] = try node(for: target, at: anchor)
                }
            }
        } while !pending.isEmpty
    }

    private mutating func node(for resource: SchemaRegistry.Resource, at location: String) throws(SchemaError) -> SchemaNode {
        let key = SchemaRegistry.key(resource.documentURI, resource.pointer)
        if let existing = nodes[key] { return existing }
        guard let document = registry.documents[resource.documentURI], resource.pointer.resolve(in: document) != nil else {
            throw SchemaError(location: location, reason: "reference points to nothing: \(key)")
        }
        let base = registry.baseURI(documentURI: resource.documentURI, pointer: resource.pointer)
        let node = SchemaNode(location: key, resource: resourceID(base))
        nodes[key] = node
        pending.append((node, resource))
        return node
    }

    private mutating func resourceID(_ uri: String) -> Int32 {
        if let id = resourceIDs[uri] { return id }
        let id = Int32(resourceURIs.count)
        resourceURIs.append(uri)
        resourceIDs[uri] = id
        return id
    }

    private mutating func subschema(
        _ resource: SchemaRegistry.Resource, _ tokens: JSONPointer.Token...
    ) throws(SchemaError) -> SchemaNode {
        var pointer = resource.pointer
        for token in tokens { pointer.append(token) }
        let child = SchemaRegistry.Resource(documentURI: resource.documentURI, pointer: pointer)
        return try node(for: child, at: SchemaRegistry.key(resource.documentURI, pointer))
    }

    private mutating func body(of resource: SchemaRegistry.Resource, location: String) throws(SchemaError) -> SchemaNode.Body {
        let schema = resource.pointer.resolve(in: registry.documents[resource.documentURI]!)!
        switch schema {
        case .bool(true): return .accept
        case .bool(false): return .reject
        case .object: break
        default: throw SchemaError(location: location, reason: "a schema must be an object or a boolean")
        }
        var object = schema.objectValue!
        let base = registry.baseURI(documentURI: resource.documentURI, pointer: resource.pointer)
        let vocabularies = try vocabularies(of: base, at: location)
        if !vocabularies.isSuperset(of: [.applicator, .unevaluated, .validation]) {
            // Keywords of vocabularies the schema's metaschema does not declare are not keywords here.
            object = JSONObject(uniqueMembers: object.members.filter { member in
                Vocabularies.of(keyword: member.key).map { vocabularies.isSuperset(of: $0) } ?? true
            })
        }
        let reader = KeywordReader(object: object, location: location)
        // Each check is placed where its keyword stands, so violations come out in the schema's own order.
        var placed: [(position: Int, check: Check)] = []
        func add(_ check: Check) { placed.append((Self.position(of: check, in: object), check)) }

        for key in object.keys where Self.unsupportedKeywords.contains(key) {
            throw SchemaError(location: location, reason: "keyword \(key) is not supported by this validator")
        }
        if let ref = try reader.string("$ref") {
            add(.reference(try compile(reference: ref, base: base, at: location)))
        }
        if let ref = try reader.string("$dynamicRef") {
            add(.dynamicReference(try dynamicReference(ref, base: base, at: location)))
        }
        if let type = object["type"] { add(.type(try reader.types(type))) }
        if let value = object["const"] { add(.constant(value)) }
        if let values = try reader.array("enum") { add(.oneOfValues(values)) }

        if let n = try reader.count("minLength") { add(.minLength(n)) }
        if let n = try reader.count("maxLength") { add(.maxLength(n)) }
        if registry.extensions.contains(.maxBytes), let n = try reader.count("maxBytes") { add(.maxBytes(n)) }
        if let pattern = try reader.string("pattern") { add(.pattern(try reader.regex(pattern))) }
        if let format = try reader.string("format"), vocabularies.assertsFormat(registry.formatAssertion) {
            add(.format(format))
        }

        if let n = try reader.number("minimum") { add(.minimum(n)) }
        if let n = try reader.number("maximum") { add(.maximum(n)) }
        if let n = try reader.number("exclusiveMinimum") { add(.exclusiveMinimum(n)) }
        if let n = try reader.number("exclusiveMaximum") { add(.exclusiveMaximum(n)) }
        if let n = try reader.number("multipleOf") {
            guard n > 0 else { throw SchemaError(location: location, reason: "multipleOf must be greater than 0") }
            add(.multipleOf(n))
        }

        if let n = try reader.count("minItems") { add(.minItems(n)) }
        if let n = try reader.count("maxItems") { add(.maxItems(n)) }
        if try reader.bool("uniqueItems") == true { add(.uniqueItems) }
        var prefix: [SchemaNode] = []
        if let prefixItems = try reader.array("prefixItems") {
            for offset in prefixItems.indices { prefix.append(try subschema(resource, .key("prefixItems"), .index(offset))) }
        }
        var rest: SchemaNode?
        if let items = object["items"] {
            guard items.objectValue != nil || items.boolValue != nil else {
                throw SchemaError(location: location, reason: "items must be a schema (use prefixItems for tuples)")
            }
            rest = try subschema(resource, .key("items"))
        }
        if !prefix.isEmpty || rest != nil { add(.items(prefix: prefix, rest: rest)) }
        if object["contains"] != nil {
            let minimum = try reader.count("minContains") ?? 1
            add(.contains(try subschema(resource, .key("contains")), min: minimum, max: try reader.count("maxContains")))
        }

        if let n = try reader.count("minProperties") { add(.minProperties(n)) }
        if let n = try reader.count("maxProperties") { add(.maxProperties(n)) }
        if let names = try reader.strings("required") { add(.required(names)) }
        var rules = PropertyRules()
        var hasPropertyRules = false
        if let properties = try reader.object("properties") {
            hasPropertyRules = true
            for name in properties.keys { rules.properties[CodePointString(name)] = try subschema(resource, .key("properties"), .key(name)) }
        }
        if let patterns = try reader.object("patternProperties") {
            hasPropertyRules = true
            for pattern in patterns.keys {
                rules.patternProperties.append(
                    (try reader.regex(pattern), try subschema(resource, .key("patternProperties"), .key(pattern))))
            }
        }
        if object["additionalProperties"] != nil {
            hasPropertyRules = true
            rules.additionalProperties = try subschema(resource, .key("additionalProperties"))
        }
        if hasPropertyRules { add(.properties(rules)) }
        if object["propertyNames"] != nil { add(.propertyNames(try subschema(resource, .key("propertyNames")))) }
        if let dependencies = try reader.object("dependentRequired") {
            var pairs: [(String, [String])] = []
            let nested = KeywordReader(object: dependencies, location: location)
            for name in dependencies.keys {
                guard let names = try nested.strings(name) else { continue }
                pairs.append((name, names))
            }
            add(.dependentRequired(pairs))
        }
        if let dependencies = try reader.object("dependentSchemas") {
            var pairs: [(String, SchemaNode)] = []
            for name in dependencies.keys { pairs.append((name, try subschema(resource, .key("dependentSchemas"), .key(name)))) }
            add(.dependentSchemas(pairs))
        }

        for keyword in ["allOf", "anyOf", "oneOf"] {
            guard let members = try reader.array(keyword) else { continue }
            guard !members.isEmpty else { throw SchemaError(location: location, reason: "\(keyword) must not be empty") }
            var compiled: [SchemaNode] = []
            for offset in members.indices { compiled.append(try subschema(resource, .key(keyword), .index(offset))) }
            switch keyword {
            case "allOf": add(.allOf(compiled))
            case "anyOf": add(.anyOf(compiled))
            default: add(.oneOf(compiled))
            }
        }
        if object["unevaluatedItems"] != nil {
            add(.unevaluatedItems(try subschema(resource, .key("unevaluatedItems"))))
        }
        if object["unevaluatedProperties"] != nil {
            add(.unevaluatedProperties(try subschema(resource, .key("unevaluatedProperties"))))
        }
        if object["not"] != nil { add(.not(try subschema(resource, .key("not")))) }
        if object["if"] != nil {
            add(.conditional(
                if: try subschema(resource, .key("if")),
                then: object["then"] != nil ? try subschema(resource, .key("then")) : nil,
                else: object["else"] != nil ? try subschema(resource, .key("else")) : nil
            ))
        }
        // Subschemas under $defs are compiled when something refers to them.
        return .checks(placed.enumerated().sorted {
            ($0.element.position, $0.offset) < ($1.element.position, $1.offset)
        }.map(\.element.check))
    }

    /// A `$dynamicRef`: resolved like `$ref`, and dynamic when the target is a `$dynamicAnchor` of the name
    /// in the reference's fragment.
    private mutating func dynamicReference(_ reference: String, base: String, at location: String) throws(SchemaError) -> DynamicReference {
        let absolute = URIReference.resolve(reference, against: base)
        guard let target = registry.locate(absolute) else {
            throw SchemaError(location: location, reason: "cannot resolve reference \"\(reference)\" (\(absolute))")
        }
        let initial = try node(for: target, at: location)
        let anchor = URIReference.splitFragment(absolute).1.map(URIReference.percentDecoded) ?? ""
        let isDynamic = !anchor.isEmpty && !anchor.hasPrefix("/")
            && target.pointer.resolve(in: registry.documents[target.documentURI]!)?["$dynamicAnchor"]?.stringValue == anchor
        let compiled = DynamicReference(anchor: anchor, initial: initial, isDynamic: isDynamic)
        if isDynamic {
            dynamicReferences.append(compiled)
            usesDynamicScope = true
        }
        return compiled
    }

    /// The vocabularies in force in the resource `base`: those its metaschema's `$vocabulary` declares, when
    /// its `$schema` names a registered metaschema that has one, and the 2020-12 dialect's otherwise.
    private mutating func vocabularies(of base: String, at location: String) throws(SchemaError) -> Vocabularies {
        guard let dialect = registry.dialects[base] else { return .standard }
        if let cached = vocabularyCache[dialect] { return cached }
        var found = Vocabularies.standard
        if let metaschema = registry.locate(dialect),
            let declared = metaschema.pointer.resolve(in: registry.documents[metaschema.documentURI]!)?["$vocabulary"]?.objectValue
        {
            found = []
            for (uri, required) in declared {
                if let known = Vocabularies.byURI[uri] {
                    found.formUnion(known)
                } else if required.boolValue == true {
                    throw SchemaError(
                        location: location,
                        reason: "the metaschema \(dialect) requires the vocabulary \(uri), which this validator does not implement")
                }
            }
        }
        vocabularyCache[dialect] = found
        return found
    }

    private static func position(of check: Check, in object: JSONObject) -> Int {
        let keywords: [String]
        switch check {
        case .type: keywords = ["type"]
        case .constant: keywords = ["const"]
        case .oneOfValues: keywords = ["enum"]
        case .minLength: keywords = ["minLength"]
        case .maxLength: keywords = ["maxLength"]
        case .maxBytes: keywords = ["maxBytes"]
        case .pattern: keywords = ["pattern"]
        case .format: keywords = ["format"]
        case .minimum: keywords = ["minimum"]
        case .maximum: keywords = ["maximum"]
        case .exclusiveMinimum: keywords = ["exclusiveMinimum"]
        case .exclusiveMaximum: keywords = ["exclusiveMaximum"]
        case .multipleOf: keywords = ["multipleOf"]
        case .minItems: keywords = ["minItems"]
        case .maxItems: keywords = ["maxItems"]
        case .uniqueItems: keywords = ["uniqueItems"]
        case .items: keywords = ["prefixItems", "items"]
        case .contains: keywords = ["contains"]
        case .minProperties: keywords = ["minProperties"]
        case .maxProperties: keywords = ["maxProperties"]
        case .required: keywords = ["required"]
        case .properties: keywords = ["properties", "patternProperties", "additionalProperties"]
        case .propertyNames: keywords = ["propertyNames"]
        case .dependentRequired: keywords = ["dependentRequired"]
        case .dependentSchemas: keywords = ["dependentSchemas"]
        case .allOf: keywords = ["allOf"]
        case .anyOf: keywords = ["anyOf"]
        case .oneOf: keywords = ["oneOf"]
        case .not: keywords = ["not"]
        case .conditional: keywords = ["if"]
        case .reference: keywords = ["$ref"]
        case .dynamicReference: keywords = ["$dynamicRef"]
        case .unevaluatedProperties: keywords = ["unevaluatedProperties"]
        case .unevaluatedItems: keywords = ["unevaluatedItems"]
        }
        return keywords.compactMap { object.keys.firstIndex(of: $0) }.min() ?? Int.max
    }
}

/// The 2020-12 vocabularies whose keywords this validator compiles. A schema whose metaschema declares a
/// `$vocabulary` gets the keywords of the vocabularies declared there and no others; core keywords (`$ref`,
/// `$dynamicRef`, `$defs`…) and the registry's extensions always apply.
struct Vocabularies: OptionSet, Sendable {
    let rawValue: UInt8
    static let applicator = Vocabularies(rawValue: 1)
    static let unevaluated = Vocabularies(rawValue: 2)
    static let validation = Vocabularies(rawValue: 4)
    static let formatAnnotation = Vocabularies(rawValue: 8)
    static let formatAssertion = Vocabularies(rawValue: 16)
    /// Core, meta-data and content: known, but they hold no keyword that asserts anything.
    static let other = Vocabularies(rawValue: 32)
    /// The vocabularies of the 2020-12 metaschema: those of a schema with no `$schema`, or whose `$schema` is
    /// not a registered metaschema with a `$vocabulary`.
    static let standard: Vocabularies = [.applicator, .unevaluated, .validation, .formatAnnotation, .other]

    static let byURI: [String: Vocabularies] = [
        "https://json-schema.org/draft/2020-12/vocab/core": .other,
        "https://json-schema.org/draft/2020-12/vocab/applicator": .applicator,
        "https://json-schema.org/draft/2020-12/vocab/unevaluated": .unevaluated,
        "https://json-schema.org/draft/2020-12/vocab/validation": .validation,
        "https://json-schema.org/draft/2020-12/vocab/meta-data": .other,
        "https://json-schema.org/draft/2020-12/vocab/format-annotation": .formatAnnotation,
        "https://json-schema.org/draft/2020-12/vocab/format-assertion": .formatAssertion,
        "https://json-schema.org/draft/2020-12/vocab/content": .other,
    ]

    /// The vocabulary a keyword belongs to, for the keywords that depend on one.
    static func of(keyword: String) -> Vocabularies? {
        switch keyword {
        case "prefixItems", "items", "contains", "additionalProperties", "properties", "patternProperties",
            "dependentSchemas", "propertyNames", "if", "then", "else", "allOf", "anyOf", "oneOf", "not":
            return .applicator
        case "unevaluatedItems", "unevaluatedProperties":
            return .unevaluated
        case "type", "const", "enum", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum",
            "maxLength", "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxContains", "minContains",
            "maxProperties", "minProperties", "required", "dependentRequired":
            return .validation
        default:
            // `format` (either format vocabulary makes it a keyword: see `assertsFormat`), core keywords,
            // extensions and unknown keywords.
            return nil
        }
    }

    /// Whether `format` is asserted: it is a keyword only under one of the two format vocabularies, and is
    /// asserted when the registry asserts formats or the format-assertion vocabulary is declared.
    func assertsFormat(_ registryAsserts: Bool) -> Bool {
        guard !isDisjoint(with: [.formatAnnotation, .formatAssertion]) else { return false }
        return registryAsserts || contains(.formatAssertion)
    }
}

/// Reads keyword values of one schema object, refusing values of the wrong JSON type.
private struct KeywordReader {
    let object: JSONObject
    let location: String

    private func wrong(_ keyword: String, _ expected: String) -> SchemaError {
        SchemaError(location: location, reason: "\(keyword) must be \(expected)")
    }

    func string(_ keyword: String) throws(SchemaError) -> String? {
        guard let value = object[keyword] else { return nil }
        guard let string = value.stringValue else { throw wrong(keyword, "a string") }
        return string
    }

    func bool(_ keyword: String) throws(SchemaError) -> Bool? {
        guard let value = object[keyword] else { return nil }
        guard let flag = value.boolValue else { throw wrong(keyword, "a boolean") }
        return flag
    }

    func number(_ keyword: String) throws(SchemaError) -> Double? {
        guard let value = object[keyword] else { return nil }
        guard let number = value.numberValue else { throw wrong(keyword, "a number") }
        return number
    }

    func count(_ keyword: String) throws(SchemaError) -> Int? {
        guard let value = object[keyword] else { return nil }
        guard let number = value.numberValue, number.isIntegral, number >= 0 else {
            throw wrong(keyword, "a non-negative integer")
        }
        return number > Double(Int.max / 2) ? Int.max / 2 : Int(number)
    }

    func array(_ keyword: String) throws(SchemaError) -> [JSONValue]? {
        guard let value = object[keyword] else { return nil }
        guard let array = value.arrayValue else { throw wrong(keyword, "an array") }
        return array
    }

    func object(_ keyword: String) throws(SchemaError) -> JSONObject? {
        guard let value = object[keyword] else { return nil }
        guard let members = value.objectValue else { throw wrong(keyword, "an object") }
        return members
    }

    func strings(_ keyword: String) throws(SchemaError) -> [String]? {
        guard let values = try array(keyword) else { return nil }
        var strings: [String] = []
        for value in values {
            guard let string = value.stringValue else { throw wrong(keyword, "an array of strings") }
            strings.append(string)
        }
        return strings
    }

    func types(_ value: JSONValue) throws(SchemaError) -> TypeSet {
        let names: [JSONValue] = value.arrayValue ?? [value]
        var set: TypeSet = []
        for name in names {
            guard let string = name.stringValue, let type = TypeSet.names.first(where: { $0.0 == string })?.1 else {
                throw wrong("type", "a type name or an array of type names")
            }
            set.insert(type)
        }
        return set
    }

    func regex(_ pattern: String) throws(SchemaError) -> ECMARegex {
        do {
            return try ECMARegex(pattern)
        } catch {
            throw SchemaError(location: location, reason: error.description)
        }
    }
}
