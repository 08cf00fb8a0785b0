import Testing

@testable import JSONSchemaValidation

/// One keyword at a time: a schema, an instance, and the (path, keyword) pairs expected.
struct KeywordCase: CustomTestStringConvertible, Sendable {
    let schema: String
    let instance: String
    let expected: [String]

    init(_ schema: String, _ instance: String, _ expected: [String] = []) {
        self.schema = schema
        self.instance = instance
        self.expected = expected
    }

    var testDescription: String { "\(schema) ∋ \(instance)" }
}

func violations(_ schema: String, _ instance: String, extra: [(String, String)] = []) throws -> [String] {
    var registry = SchemaRegistry()
    for (uri, text) in extra { try registry.add(json: text, uri: uri) }
    try registry.add(json: schema, uri: "https://test.example/root.json")
    let validator = try registry.validator(for: "https://test.example/root.json")
    let value = try JSONParser.parse(instance)
    let errors = validator.validate(value)
    #expect(validator.isValid(value) == errors.isEmpty)
    return errors.map { "\($0.instancePath) \($0.keyword)" }
}

@Suite struct KeywordTests {
    @Test(arguments: [
        KeywordCase(#"{"type":"string"}"#, #""a""#),
        KeywordCase(#"{"type":"string"}"#, "1", [" type"]),
        KeywordCase(#"{"type":"integer"}"#, "1.0"),
        KeywordCase(#"{"type":"integer"}"#, "1.5", [" type"]),
        KeywordCase(#"{"type":"number"}"#, "1"),
        KeywordCase(#"{"type":["string","null"]}"#, "null"),
        KeywordCase(#"{"type":["string","null"]}"#, "false", [" type"]),
        KeywordCase(#"{"type":"object"}"#, "[]", [" type"]),
        KeywordCase(#"{"type":"array"}"#, "{}", [" type"]),
        KeywordCase(#"{"type":"boolean"}"#, "0", [" type"]),
        KeywordCase(#"{"const":{"a":[1,2]}}"#, #"{"a":[1.0,2]}"#),
        KeywordCase(#"{"const":{"a":[1,2]}}"#, #"{"a":[2,1]}"#, [" const"]),
        KeywordCase(#"{"enum":["a",1,null]}"#, "null"),
        KeywordCase(#"{"enum":["a",1,null]}"#, #""b""#, [" enum"]),
        KeywordCase(#"{"enum":[{"x":1,"y":2}]}"#, #"{"y":2,"x":1}"#),
        KeywordCase(#"{"minLength":2}"#, #""é""#, [" minLength"]),
        KeywordCase(#"{"maxLength":2}"#, #""😀😀""#),
        KeywordCase(#"{"maxLength":2}"#, #""abc""#, [" maxLength"]),
        KeywordCase(#"{"maxLength":2}"#, "12345"),
        KeywordCase(#"{"pattern":"^a"}"#, #""ba""#, [" pattern"]),
        KeywordCase(#"{"pattern":"^a"}"#, "1"),
        KeywordCase(#"{"format":"date"}"#, #""2025-02-29""#, [" format"]),
        KeywordCase(#"{"format":"date-time"}"#, #""2025-02-28T00:00:00Z""#),
        KeywordCase(#"{"format":"time"}"#, #""25:00:00Z""#, [" format"]),
        KeywordCase(#"{"format":"uuid"}"#, #""nope""#, [" format"]),
        KeywordCase(#"{"format":"uuid"}"#, "5"),
        KeywordCase(#"{"minimum":1}"#, "1"),
        KeywordCase(#"{"minimum":1}"#, "0.5", [" minimum"]),
        KeywordCase(#"{"maximum":1}"#, "2", [" maximum"]),
        KeywordCase(#"{"exclusiveMinimum":1}"#, "1", [" exclusiveMinimum"]),
        KeywordCase(#"{"exclusiveMaximum":1}"#, "0.99"),
        KeywordCase(#"{"exclusiveMaximum":1}"#, "1", [" exclusiveMaximum"]),
        KeywordCase(#"{"multipleOf":0.1}"#, "0.3"),
        KeywordCase(#"{"multipleOf":3}"#, "10", [" multipleOf"]),
        KeywordCase(#"{"minItems":1}"#, "[]", [" minItems"]),
        KeywordCase(#"{"maxItems":1}"#, "[1,2]", [" maxItems"]),
        KeywordCase(#"{"uniqueItems":true}"#, #"[{"a":1},{"a":1.0}]"#, [" uniqueItems"]),
        KeywordCase(#"{"uniqueItems":true}"#, "[1,\"1\"]"),
        KeywordCase(#"{"items":{"type":"integer"}}"#, "[1,\"a\",2,null]", ["/1 type", "/3 type"]),
        KeywordCase(#"{"prefixItems":[{"type":"string"}],"items":{"type":"integer"}}"#, #"["a",1,"b"]"#, ["/2 type"]),
        KeywordCase(#"{"prefixItems":[{"type":"string"}],"items":false}"#, #"["a",1]"#, ["/1 items"]),
        KeywordCase(#"{"contains":{"const":2}}"#, "[1,3]", [" contains"]),
        KeywordCase(#"{"contains":{"const":2},"minContains":2}"#, "[2,2]"),
        KeywordCase(#"{"contains":{"const":2},"maxContains":1}"#, "[2,2]", [" maxContains"]),
        KeywordCase(#"{"minProperties":1}"#, "{}", [" minProperties"]),
        KeywordCase(#"{"maxProperties":1}"#, #"{"a":1,"b":2}"#, [" maxProperties"]),
        KeywordCase(#"{"required":["a","b"]}"#, #"{"b":1}"#, ["/a required"]),
        KeywordCase(#"{"required":["a"]}"#, "[]"),
        KeywordCase(#"{"properties":{"a":{"type":"string"}}}"#, #"{"a":1,"b":1}"#, ["/a type"]),
        KeywordCase(#"{"properties":{"a":{}},"additionalProperties":false}"#, #"{"a":1,"b":1,"c":1}"#, ["/b additionalProperties", "/c additionalProperties"]),
        KeywordCase(#"{"patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}"#, #"{"x-a":"1","y":1}"#, ["/y additionalProperties"]),
        KeywordCase(#"{"patternProperties":{"^x-":{"type":"string"}}}"#, #"{"x-a":1}"#, ["/x-a type"]),
        KeywordCase(#"{"additionalProperties":{"type":"integer"}}"#, #"{"a":1,"b":"x"}"#, ["/b type"]),
        KeywordCase(#"{"propertyNames":{"maxLength":2}}"#, #"{"ab":1,"abc":2}"#, ["/abc propertyNames"]),
        KeywordCase(#"{"dependentRequired":{"from":["to"]}}"#, #"{"from":1}"#, ["/to dependentRequired"]),
        KeywordCase(#"{"dependentSchemas":{"date":{"properties":{"from":false}}}}"#, #"{"date":1,"from":1}"#, ["/from properties"]),
        KeywordCase(#"{"allOf":[{"type":"string"},{"minLength":2}]}"#, "1", [" type"]),
        KeywordCase(#"{"allOf":[{"maxLength":1},{"pattern":"^b"}]}"#, #""ab""#, [" maxLength", " pattern"]),
        KeywordCase(#"{"anyOf":[{"type":"string"},{"type":"null"}]}"#, "null"),
        KeywordCase(#"{"anyOf":[{"type":"string"},{"type":"null"}]}"#, "1", [" anyOf"]),
        KeywordCase(#"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#, "1", [" oneOf"]),
        KeywordCase(#"{"oneOf":[{"type":"integer"},{"minimum":0}]}"#, "-1"),
        KeywordCase(#"{"not":{"type":"null"}}"#, "null", [" not"]),
        KeywordCase(#"{"if":{"const":1},"then":{"multipleOf":2},"else":{"type":"string"}}"#, "1", [" multipleOf"]),
        KeywordCase(#"{"if":{"const":1},"then":{"multipleOf":2},"else":{"type":"string"}}"#, "2", [" type"]),
        KeywordCase("true", "[1]"),
        KeywordCase("false", "[1]", [" false"]),
        KeywordCase(##"{"properties":{"a":{"$ref":"#/$defs/positive"}},"$defs":{"positive":{"minimum":1}}}"##, ##"{"a":0}"##, ["/a minimum"]),
        KeywordCase(#"{"unknownKeyword":{"type":"string"}}"#, "1"),
    ])
    func keyword(_ testCase: KeywordCase) throws {
        #expect(try violations(testCase.schema, testCase.instance) == testCase.expected)
    }

    @Test func reportsEveryViolationNotJustTheFirst() throws {
        let schema = #"{"type":"object","required":["a","b"],"properties":{"c":{"type":"string","maxLength":1,"pattern":"^x"}},"additionalProperties":false}"#
        let found = try violations(schema, #"{"c":"yy","d":1}"#)
        #expect(Set(found) == ["/a required", "/b required", "/c maxLength", "/c pattern", "/d additionalProperties"])
    }

    @Test func messagesSayWhatIsWrong() throws {
        var registry = SchemaRegistry()
        try registry.add(json: #"{"properties":{"s":{"maxLength":3},"t":{"type":"string"}}}"#, uri: "https://test.example/m.json")
        let errors = try registry.validator(for: "https://test.example/m.json").validate(try JSONParser.parse(#"{"s":"abcdé","t":1}"#))
        #expect(errors.map(\.message) == ["must be at most 3 characters long (is 5)", "must be a string, not integer"])
    }
}

@Suite struct ReferenceTests {
    @Test func refsResolveAcrossDocumentsByRelativeURI() throws {
        let item = ##"{"$id":"https://test.example/spec/item.json","type":"object","required":["n"],"properties":{"n":{"$ref":"#/$defs/n"}},"$defs":{"n":{"type":"integer"}}}"##
        let list = ##"{"$id":"https://test.example/spec/list.json","type":"array","items":{"$ref":"item.json"}}"##
        var registry = SchemaRegistry()
        try registry.add(json: item, uri: "https://test.example/spec/item.json")
        try registry.add(json: list, uri: "https://test.example/spec/list.json")
        let validator = try registry.validator(for: "https://test.example/spec/list.json")
        let errors = validator.validate(try JSONParser.parse(#"[{"n":1},{"n":"x"},{}]"#))
        #expect(errors.map { "\($0.instancePath) \($0.keyword)" } == ["/1/n type", "/2/n required"])
    }

    @Test func refsIntoAnotherDocumentUseThatDocumentsBase() throws {
        let defs = ##"{"$id":"https://test.example/a/defs.json","$defs":{"id":{"$ref":"#/$defs/chars"},"chars":{"pattern":"^[a-z]+$"}}}"##
        let root = ##"{"$ref":"a/defs.json#/$defs/id"}"##
        #expect(try violations(root, #""ABC""#, extra: [("https://test.example/a/defs.json", defs)]) == [" pattern"])
    }

    @Test func embeddedIdsAndAnchors() throws {
        let schema = #"""
            {"$defs":{"inner":{"$id":"inner/","$defs":{"x":{"$anchor":"num","type":"number"}}}},
             "properties":{"a":{"$ref":"inner/#num"},"b":{"$ref":"https://test.example/inner/#/$defs/x"}}}
            """#
        #expect(try violations(schema, #"{"a":"1","b":"2"}"#) == ["/a type", "/b type"])
    }

    @Test func recursiveSchemas() throws {
        let tree = ##"{"type":"object","properties":{"value":{"type":"integer"},"children":{"type":"array","items":{"$ref":"#"}}}}"##
        let found = try violations(tree, #"{"value":1,"children":[{"value":2,"children":[{"value":"x"}]}]}"#)
        #expect(found == ["/children/0/children/0/value type"])
    }

    @Test func unresolvableRefsFailAtCompileTime() {
        var registry = SchemaRegistry()
        #expect(throws: SchemaError.self) {
            try registry.add(json: #"{"$ref":"missing.json"}"#, uri: "https://test.example/r.json")
            _ = try registry.validator(for: "https://test.example/r.json")
        }
    }

    @Test(arguments: [
        #"{"unevaluatedProperties":false}"#,
        ##"{"$dynamicRef":"#meta"}"##,
        #"{"type":"strung"}"#,
        #"{"minLength":-1}"#,
        #"{"pattern":"("}"#,
        #"{"items":[{}]}"#,
        #"{"required":"a"}"#,
        #"{"multipleOf":0}"#,
        #"{"anyOf":[]}"#,
        #"5"#,
    ])
    func invalidOrUnsupportedSchemasAreRefused(schema: String) {
        #expect(throws: SchemaError.self) { _ = try violations(schema, "null") }
    }

    @Test func uriResolution() {
        let base = "https://a.example/b/c/d.json"
        #expect(URIReference.resolve("e.json", against: base) == "https://a.example/b/c/e.json")
        #expect(URIReference.resolve("../e.json#/x", against: base) == "https://a.example/b/e.json#/x")
        #expect(URIReference.resolve("/e.json", against: base) == "https://a.example/e.json")
        #expect(URIReference.resolve("#frag", against: base) == "https://a.example/b/c/d.json#frag")
        #expect(URIReference.resolve("urn:x:y", against: base) == "urn:x:y")
        #expect(URIReference.resolve("//other.example/z", against: base) == "https://other.example/z")
    }
}
