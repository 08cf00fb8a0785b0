/// A compiled schema: its keywords turned into checks once, so validation never re-reads schema JSON.
/// Nodes form a graph (a `$ref` may point back up), are built by `SchemaCompiler` and never change afterwards.
final class SchemaNode: @unchecked Sendable {
    enum Body {
        case accept
        case reject
        case checks([Check])
    }

    var body: Body = .checks([])
    let location: String
    /// The schema resource this node belongs to (an index into the compiler's resources), for the dynamic
    /// scope that `$dynamicRef` resolves through.
    let resource: Int32

    init(location: String, resource: Int32) {
        self.location = location
        self.resource = resource
    }
}

/// A `$dynamicRef`. Its target is `initial` (where it resolves like a `$ref`), unless it landed on a
/// `$dynamicAnchor` of the same name: then the outermost resource of the dynamic scope that declares that
/// `$dynamicAnchor` is used instead. `candidates` lists them; it is filled by the compiler and never changes
/// afterwards, and is empty when the reference is not dynamic.
final class DynamicReference: @unchecked Sendable {
    let anchor: String
    let initial: SchemaNode
    /// Resource index to the node of that resource's `$dynamicAnchor` named `anchor`.
    var candidates: [Int32: SchemaNode] = [:]
    /// How many of the compiler's resources have been looked at for `candidates` (compile time only).
    var resourcesSeen = 0
    let isDynamic: Bool

    init(anchor: String, initial: SchemaNode, isDynamic: Bool) {
        self.anchor = anchor
        self.initial = initial
        self.isDynamic = isDynamic
    }
}

/// The JSON Schema types, as a bit set.
struct TypeSet: OptionSet, Sendable {
    let rawValue: UInt8
    static let null = TypeSet(rawValue: 1)
    static let boolean = TypeSet(rawValue: 2)
    static let integer = TypeSet(rawValue: 4)
    static let number = TypeSet(rawValue: 8)
    static let string = TypeSet(rawValue: 16)
    static let array = TypeSet(rawValue: 32)
    static let object = TypeSet(rawValue: 64)

    static let names: [(String, TypeSet)] = [
        ("null", .null), ("boolean", .boolean), ("integer", .integer), ("number", .number),
        ("string", .string), ("array", .array), ("object", .object),
    ]

    func admits(_ value: JSONValue) -> Bool {
        switch value {
        case .null: contains(.null)
        case .bool: contains(.boolean)
        case .number(let n): contains(.number) || (contains(.integer) && n.isIntegral)
        case .string: contains(.string)
        case .array: contains(.array)
        case .object: contains(.object)
        }
    }

    var description: String {
        TypeSet.names.filter { contains($0.1) }.map(\.0).joined(separator: " or ")
    }
}

struct PropertyRules {
    var properties: [CodePointString: SchemaNode] = [:]
    var patternProperties: [(ECMARegex, SchemaNode)] = []
    var additionalProperties: SchemaNode?
}

enum Check {
    case type(TypeSet)
    case constant(JSONValue)
    case oneOfValues([JSONValue])
    case minLength(Int)
    case maxLength(Int)
    case maxBytes(Int)
    case pattern(ECMARegex)
    case format(String)
    case minimum(Double)
    case maximum(Double)
    case exclusiveMinimum(Double)
    case exclusiveMaximum(Double)
    case multipleOf(Double)
    case minItems(Int)
    case maxItems(Int)
    case uniqueItems
    case items(prefix: [SchemaNode], rest: SchemaNode?)
    case contains(SchemaNode, min: Int, max: Int?)
    case minProperties(Int)
    case maxProperties(Int)
    case required([String])
    case properties(PropertyRules)
    case propertyNames(SchemaNode)
    case dependentRequired([(String, [String])])
    case dependentSchemas([(String, SchemaNode)])
    case allOf([SchemaNode])
    case anyOf([SchemaNode])
    case oneOf([SchemaNode])
    case not(SchemaNode)
    case conditional(if: SchemaNode, then: SchemaNode?, else: SchemaNode?)
    case reference(SchemaNode)
    case dynamicReference(DynamicReference)
    case unevaluatedProperties(SchemaNode)
    case unevaluatedItems(SchemaNode)
}
