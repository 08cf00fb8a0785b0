/// A compiled JSON Schema (draft 2020-12), ready to validate any number of instances.
/// Compile once with `SchemaRegistry.validator(for:)`; validating never re-reads schema JSON.
/// `format` is asserted for the formats in `FormatAssertion.assertedFormats`.
public struct JSONSchemaValidator: Sendable {
    let root: SchemaNode
    /// The URI the schema was compiled from.
    public let uri: String
    /// True when the schema has a `$dynamicRef` that resolves through the dynamic scope; only then does
    /// evaluation keep track of the scope.
    let tracksDynamicScope: Bool

    init(root: SchemaNode, uri: String, tracksDynamicScope: Bool) {
        self.root = root
        self.uri = uri
        self.tracksDynamicScope = tracksDynamicScope
    }

    /// Every violation of the schema by `instance`; empty when it is valid.
    public func validate(_ instance: JSONValue) -> [SchemaViolation] {
        validate(instance, keepingAtMost: .max).violations
    }

    /// The first `limit` violations in document order, and how many more were found. The count costs
    /// no memory, so a hostile instance with a million faults cannot make a million-line answer.
    public func validate(_ instance: JSONValue, keepingAtMost limit: Int) -> (violations: [SchemaViolation], omitted: Int) {
        var evaluation = Evaluation(collecting: true, limit: limit, tracksScope: tracksDynamicScope)
        _ = evaluation.evaluate(root, instance, via: "false")
        return (evaluation.errors, evaluation.omitted)
    }

    /// Whether `instance` is valid; stops at the first violation.
    public func isValid(_ instance: JSONValue) -> Bool {
        var evaluation = Evaluation(collecting: false, tracksScope: tracksDynamicScope)
        return evaluation.evaluate(root, instance, via: "false")
    }
}

/// One pass of a schema over an instance. When `collecting`, it records every violation;
/// otherwise it only answers valid or not, and stops at the first failure.
private struct Evaluation {
    /// False while only validity matters: for the whole pass, or inside `passes`.
    var collecting: Bool
    /// The most violations kept; the rest are only counted in `omitted`.
    let limit: Int
    /// Whether `scope` is kept (the schema has a dynamic `$dynamicRef`).
    let tracksScope: Bool
    var path = JSONPointer()
    var errors: [SchemaViolation] = []
    var omitted = 0
    /// The dynamic scope: the schema resources evaluation has entered and not left, outermost first.
    var scope: [Int32] = []

    init(collecting: Bool, limit: Int = .max, tracksScope: Bool) {
        self.collecting = collecting
        self.limit = limit
        self.tracksScope = tracksScope
    }

    private mutating func fail(_ keyword: String, _ message: @autoclosure () -> String) {
        guard collecting else { return }
        guard errors.count < limit else { omitted += 1; return }
        errors.append(SchemaViolation(instancePath: path, keyword: keyword, message: message()))
    }

    private mutating func fail(member: String, _ keyword: String, _ message: @autoclosure () -> String) {
        guard collecting else { return }
        guard errors.count < limit else { omitted += 1; return }
        errors.append(SchemaViolation(instancePath: path.appending(member), keyword: keyword, message: message()))
    }

    /// Validity of `instance` against `node` alone, with no violations recorded.
    private mutating func passes(_ node: SchemaNode, _ instance: JSONValue) -> Bool {
        guard collecting else { return evaluate(node, instance, via: "false") }
        collecting = false
        defer { collecting = true }
        return evaluate(node, instance, via: "false")
    }

    /// `keyword` names the applicator that led here; a `false` schema reports its failure under it.
    mutating func evaluate(_ node: SchemaNode, _ instance: JSONValue, via keyword: String) -> Bool {
        if tracksScope, scope.last != node.resource {
            scope.append(node.resource)
            defer { scope.removeLast() }
            return evaluateBody(node, instance, via: keyword)
        }
        return evaluateBody(node, instance, via: keyword)
    }

    private mutating func evaluateBody(_ node: SchemaNode, _ instance: JSONValue, via keyword: String) -> Bool {
        switch node.body {
        case .accept:
            return true
        case .reject:
            fail(keyword, "is not allowed")
            return false
        case .checks(let checks):
            var valid = true
            for check in checks {
                if !apply(check, instance, siblings: checks) {
                    valid = false
                    if !collecting { return false }
                }
            }
            return valid
        }
    }

    /// The target of a `$dynamicRef`: the outermost resource in the dynamic scope that declares its
    /// `$dynamicAnchor`, or where it resolves statically.
    private func resolve(_ reference: DynamicReference) -> SchemaNode {
        if !reference.candidates.isEmpty {
            for resource in scope {
                if let node = reference.candidates[resource] { return node }
            }
        }
        return reference.initial
    }

    private mutating func descend(_ node: SchemaNode, _ instance: JSONValue, _ token: JSONPointer.Token, via keyword: String) -> Bool {
        path.append(token)
        defer { path.removeLast() }
        return evaluate(node, instance, via: keyword)
    }

    /// `siblings` are the checks of the schema object `check` belongs to, which `unevaluated*` look at.
    private mutating func apply(_ check: Check, _ instance: JSONValue, siblings: [Check]) -> Bool {
        switch check {
        case .type(let types):
            guard types.admits(instance) else {
                fail("type", "must be \(article(types.description)) \(types.description), not \(instance.typeName)")
                return false
            }
            return true

        case .constant(let expected):
            guard instance == expected else {
                fail("const", "must be \(JSONWriter.string(expected))")
                return false
            }
            return true

        case .oneOfValues(let values):
            guard values.contains(instance) else {
                fail("enum", "must be one of \(values.map(JSONWriter.string).joined(separator: ", "))")
                return false
            }
            return true

        case .minLength(let limit):
            guard case .string(let s) = instance else { return true }
            let length = s.unicodeScalars.count
            guard length >= limit else {
                fail("minLength", "must be at least \(limit) character\(limit == 1 ? "" : "s") long (is \(length))")
                return false
            }
            return true

        case .maxBytes(let limit):
            guard case .string(let s) = instance else { return true }
            guard s.utf8.count <= limit else {
                fail("maxBytes", "must be at most \(limit) bytes long in UTF-8 (is \(s.utf8.count))")
                return false
            }
            return true

        case .maxLength(let limit):
            guard case .string(let s) = instance else { return true }
            guard s.utf8.count <= limit || s.unicodeScalars.count <= limit else {
                fail("maxLength", "must be at most \(limit) characters long (is \(s.unicodeScalars.count))")
                return false
            }
            return true

        case .pattern(let regex):
            guard case .string(let s) = instance else { return true }
            guard regex.matches(s) else {
                fail("pattern", "must match the pattern \(regex.pattern)")
                return false
            }
            return true

        case .format(let format):
            guard case .string(let s) = instance, let reason = FormatAssertion.failure(format: format, value: s) else {
                return true
            }
            fail("format", "is not a valid \(format): \(reason)")
            return false

        case .minimum(let limit):
            return compare(instance, "minimum", ">=", limit) { $0 >= limit }
        case .maximum(let limit):
            return compare(instance, "maximum", "<=", limit) { $0 <= limit }
        case .exclusiveMinimum(let limit):
            return compare(instance, "exclusiveMinimum", ">", limit) { $0 > limit }
        case .exclusiveMaximum(let limit):
            return compare(instance, "exclusiveMaximum", "<", limit) { $0 < limit }
        case .multipleOf(let divisor):
            guard case .number(let n) = instance else { return true }
            let quotient = n / divisor
            let isMultiple = quotient.isFinite
                ? quotient.isIntegral || abs(quotient - quotient.rounded()) < 1e-9
                // The quotient overflows (1e308 / 0.5): the remainder, which is exact, decides.
                : n.truncatingRemainder(dividingBy: divisor) == 0
            guard isMultiple else {
                fail("multipleOf", "must be a multiple of \(formatted(divisor))")
                return false
            }
            return true

        case .minItems(let limit):
            guard case .array(let a) = instance else { return true }
            guard a.count >= limit else {
                fail("minItems", "must have at least \(limit) item\(limit == 1 ? "" : "s") (has \(a.count))")
                return false
            }
            return true

        case .maxItems(let limit):
            guard case .array(let a) = instance else { return true }
            guard a.count <= limit else {
                fail("maxItems", "must have at most \(limit) items (has \(a.count))")
                return false
            }
            return true

        case .uniqueItems:
            guard case .array(let a) = instance else { return true }
            for i in a.indices {
                for j in a.indices where j > i && a[i] == a[j] {
                    fail("uniqueItems", "must not contain duplicates (items \(i) and \(j) are equal)")
                    return false
                }
            }
            return true

        case .items(let prefix, let rest):
            guard case .array(let a) = instance else { return true }
            var valid = true
            for (offset, element) in a.enumerated() {
                let node: SchemaNode
                let keyword: String
                if offset < prefix.count {
                    node = prefix[offset]
                    keyword = "prefixItems"
                } else if let rest {
                    node = rest
                    keyword = "items"
                } else {
                    break
                }
                if !descend(node, element, .index(offset), via: keyword) {
                    valid = false
                    if !collecting { return false }
                }
            }
            return valid

        case .contains(let node, let minimum, let maximum):
            guard case .array(let a) = instance else { return true }
            var matches = 0
            for element in a where passes(node, element) { matches += 1 }
            if matches < minimum {
                fail(minimum == 1 ? "contains" : "minContains", "must contain at least \(minimum) matching item\(minimum == 1 ? "" : "s") (has \(matches))")
                return false
            }
            if let maximum, matches > maximum {
                fail("maxContains", "must contain at most \(maximum) matching items (has \(matches))")
                return false
            }
            return true

        case .minProperties(let limit):
            guard case .object(let o) = instance else { return true }
            guard o.count >= limit else {
                fail("minProperties", "must have at least \(limit) properties (has \(o.count))")
                return false
            }
            return true

        case .maxProperties(let limit):
            guard case .object(let o) = instance else { return true }
            guard o.count <= limit else {
                fail("maxProperties", "must have at most \(limit) properties (has \(o.count))")
                return false
            }
            return true

        case .required(let names):
            guard case .object(let o) = instance else { return true }
            var valid = true
            for name in names where o[name] == nil {
                fail(member: name, "required", "is required")
                valid = false
                if !collecting { return false }
            }
            return valid

        case .properties(let rules):
            guard case .object(let o) = instance else { return true }
            var valid = true
            for (name, value) in o {
                var matched = false
                if let node = rules.properties[CodePointString(name)] {
                    matched = true
                    if !descend(node, value, .key(name), via: "properties") { valid = false }
                }
                for (regex, node) in rules.patternProperties where regex.matches(name) {
                    matched = true
                    if !descend(node, value, .key(name), via: "patternProperties") { valid = false }
                }
                if !matched, let additional = rules.additionalProperties {
                    if !descend(additional, value, .key(name), via: "additionalProperties") { valid = false }
                }
                if !valid, !collecting { return false }
            }
            return valid

        case .propertyNames(let node):
            guard case .object(let o) = instance else { return true }
            var valid = true
            for name in o.keys where !passes(node, .string(name)) {
                fail(member: name, "propertyNames", "is not an allowed property name")
                valid = false
            }
            return valid

        case .dependentRequired(let dependencies):
            guard case .object(let o) = instance else { return true }
            var valid = true
            for (trigger, names) in dependencies where o[trigger] != nil {
                for name in names where o[name] == nil {
                    fail(member: name, "dependentRequired", "is required when \(trigger) is present")
                    valid = false
                }
            }
            return valid

        case .dependentSchemas(let dependencies):
            guard case .object(let o) = instance else { return true }
            var valid = true
            for (trigger, node) in dependencies where o[trigger] != nil {
                if !evaluate(node, instance, via: "dependentSchemas") { valid = false }
            }
            return valid

        case .allOf(let nodes):
            var valid = true
            for node in nodes where !evaluate(node, instance, via: "allOf") {
                valid = false
                if !collecting { return false }
            }
            return valid

        case .anyOf(let nodes):
            guard nodes.contains(where: { passes($0, instance) }) else {
                fail("anyOf", "must match at least one of the \(nodes.count) schemas in anyOf")
                return false
            }
            return true

        case .oneOf(let nodes):
            var matches = 0
            for node in nodes where passes(node, instance) { matches += 1 }
            guard matches == 1 else {
                fail("oneOf", "must match exactly one of the \(nodes.count) schemas in oneOf (matches \(matches))")
                return false
            }
            return true

        case .not(let node):
            guard !passes(node, instance) else {
                fail("not", "must not match the schema in not")
                return false
            }
            return true

        case .conditional(let condition, let then, let otherwise):
            if passes(condition, instance) {
                return then.map { evaluate($0, instance, via: "then") } ?? true
            }
            return otherwise.map { evaluate($0, instance, via: "else") } ?? true

        case .reference(let node):
            return evaluate(node, instance, via: "$ref")

        case .dynamicReference(let reference):
            return evaluate(resolve(reference), instance, via: "$dynamicRef")

        case .unevaluatedProperties(let node):
            guard case .object(let o) = instance else { return true }
            var evaluated = [Bool](repeating: false, count: o.count)
            markProperties(siblings, instance, o, &evaluated, includingUnevaluated: false)
            var valid = true
            for (offset, member) in o.members.enumerated() where !evaluated[offset] {
                if !descend(node, member.value, .key(member.key), via: "unevaluatedProperties") {
                    valid = false
                    if !collecting { return false }
                }
            }
            return valid

        case .unevaluatedItems(let node):
            guard case .array(let a) = instance else { return true }
            var evaluated = [Bool](repeating: false, count: a.count)
            markItems(siblings, instance, a, &evaluated, includingUnevaluated: false)
            var valid = true
            for (offset, element) in a.enumerated() where !evaluated[offset] {
                if !descend(node, element, .index(offset), via: "unevaluatedItems") {
                    valid = false
                    if !collecting { return false }
                }
            }
            return valid
        }
    }

    // MARK: Annotations for unevaluatedProperties and unevaluatedItems

    /// Marks the members of `object` that the keywords in `checks` evaluate: those `properties`,
    /// `patternProperties`, `additionalProperties` (and nested `unevaluatedProperties`) apply to, here or in
    /// the in-place subschemas whose annotations stand (see `annotatingSubschemas`).
    private mutating func markProperties(
        _ checks: [Check], _ instance: JSONValue, _ object: JSONObject, _ evaluated: inout [Bool], includingUnevaluated: Bool
    ) {
        for check in checks {
            switch check {
            case .properties(let rules):
                for (offset, member) in object.members.enumerated() where !evaluated[offset] {
                    if rules.additionalProperties != nil || rules.properties[CodePointString(member.key)] != nil
                        || rules.patternProperties.contains(where: { $0.0.matches(member.key) })
                    {
                        evaluated[offset] = true
                    }
                }
            case .unevaluatedProperties:
                if includingUnevaluated {
                    for offset in evaluated.indices { evaluated[offset] = true }
                }
            default:
                for node in annotatingSubschemas(check, instance) {
                    guard case .checks(let inner) = node.body else { continue }
                    inScope(of: node) { $0.markProperties(inner, instance, object, &evaluated, includingUnevaluated: true) }
                }
            }
        }
    }

    /// Runs `body` with `node`'s schema resource on the dynamic scope, when the scope is tracked and the
    /// resource is not already the innermost one.
    private mutating func inScope(of node: SchemaNode, _ body: (inout Evaluation) -> Void) {
        guard tracksScope, scope.last != node.resource else { return body(&self) }
        scope.append(node.resource)
        body(&self)
        scope.removeLast()
    }

    /// Marks the items of `array` that the keywords in `checks` evaluate: those `prefixItems`, `items`,
    /// `contains` (and nested `unevaluatedItems`) apply to, here or in in-place subschemas.
    private mutating func markItems(
        _ checks: [Check], _ instance: JSONValue, _ array: [JSONValue], _ evaluated: inout [Bool], includingUnevaluated: Bool
    ) {
        for check in checks {
            switch check {
            case .items(let prefix, let rest):
                let reach = rest == nil ? min(prefix.count, array.count) : array.count
                for offset in 0..<reach { evaluated[offset] = true }
            case .contains(let node, _, _):
                for (offset, element) in array.enumerated() where !evaluated[offset] && passes(node, element) {
                    evaluated[offset] = true
                }
            case .unevaluatedItems:
                if includingUnevaluated {
                    for offset in evaluated.indices { evaluated[offset] = true }
                }
            default:
                for node in annotatingSubschemas(check, instance) {
                    guard case .checks(let inner) = node.body else { continue }
                    inScope(of: node) { $0.markItems(inner, instance, array, &evaluated, includingUnevaluated: true) }
                }
            }
        }
    }

    /// The in-place subschemas of `check` whose annotations count for `instance`. 2020-12 keeps the
    /// annotations of the subschemas that pass: for `anyOf`, `oneOf` and `if` that is decided here; `allOf`,
    /// `then`/`else`, `dependentSchemas`, `$ref` and `$dynamicRef` are taken as they are, since if one of
    /// them fails, so does the schema that holds them, whatever `unevaluated*` says. `not` keeps none.
    private mutating func annotatingSubschemas(_ check: Check, _ instance: JSONValue) -> [SchemaNode] {
        switch check {
        case .allOf(let nodes):
            return nodes
        case .anyOf(let nodes), .oneOf(let nodes):
            var passing: [SchemaNode] = []
            for node in nodes where passes(node, instance) { passing.append(node) }
            return passing
        case .conditional(let condition, let then, let otherwise):
            if passes(condition, instance) { return [condition] + (then.map { [$0] } ?? []) }
            return otherwise.map { [$0] } ?? []
        case .dependentSchemas(let dependencies):
            guard case .object(let o) = instance else { return [] }
            return dependencies.filter { o[$0.0] != nil }.map(\.1)
        case .reference(let node):
            return [node]
        case .dynamicReference(let reference):
            return [resolve(reference)]
        default:
            return []
        }
    }

    private mutating func compare(
        _ instance: JSONValue, _ keyword: String, _ symbol: String, _ limit: Double, _ holds: (Double) -> Bool
    ) -> Bool {
        guard case .number(let n) = instance else { return true }
        guard holds(n) else {
            fail(keyword, "must be \(symbol) \(formatted(limit))")
            return false
        }
        return true
    }

}

private func formatted(_ number: Double) -> String {
    var text = ""
    JSONWriter.writeNumber(number, to: &text)
    return text
}

private func article(_ noun: String) -> String {
    guard let first = noun.first else { return "a" }
    return "aeiou".contains(first) ? "an" : "a"
}
