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
        // Strings compare by code point, as JSON does: U+00E9 is not "e" + U+0301, in values or in keys.
        KeywordCase(#"{"const":"\u00e9"}"#, #""e\u0301""#, [" const"]),
        KeywordCase(#"{"enum":["\u00e9"]}"#, #""e\u0301""#, [" enum"]),
        KeywordCase(#"{"const":{"\u00e9":1}}"#, #"{"e\u0301":1}"#, [" const"]),
        KeywordCase(#"{"uniqueItems":true}"#, #"["\u00e9","e\u0301"]"#),
        KeywordCase(#"{"properties":{"\u00e9":{"type":"string"}}}"#, #"{"e\u0301":1}"#),
        KeywordCase(#"{"required":["\u00e9"]}"#, #"{"e\u0301":1}"#, ["/\u{E9} required"]),
        // A quotient that overflows: the exact remainder decides.
        KeywordCase(#"{"multipleOf":0.5}"#, "1e308"),
        KeywordCase(#"{"multipleOf":0.5}"#, "1e300"),
        // unevaluatedProperties sees what the adjacent keywords and the passing in-place subschemas evaluated.
        KeywordCase(#"{"properties":{"a":{}},"unevaluatedProperties":false}"#, #"{"a":1,"b":2}"#, ["/b unevaluatedProperties"]),
        KeywordCase(#"{"unevaluatedProperties":{"type":"integer"}}"#, #"{"a":1,"b":"x"}"#, ["/b type"]),
        KeywordCase(#"{"allOf":[{"properties":{"a":{}}}],"unevaluatedProperties":false}"#, #"{"a":1}"#),
        KeywordCase(#"{"patternProperties":{"^x":{}},"unevaluatedProperties":false}"#, #"{"xa":1,"y":1}"#, ["/y unevaluatedProperties"]),
        KeywordCase(
            #"{"anyOf":[{"properties":{"a":{"type":"string"}}},{"properties":{"b":{}}}],"unevaluatedProperties":false}"#,
            #"{"a":1,"b":1}"#, ["/a unevaluatedProperties"]),
        KeywordCase(#"{"not":{"not":{"properties":{"a":{}}}},"unevaluatedProperties":false}"#, #"{"a":1}"#, ["/a unevaluatedProperties"]),
        KeywordCase(
            #"{"if":{"properties":{"k":{"const":1}}},"then":{"properties":{"t":{}}},"else":{"properties":{"e":{}}},"unevaluatedProperties":false}"#,
            #"{"k":2,"e":1}"#, ["/k unevaluatedProperties"]),
        KeywordCase(
            ##"{"$ref":"#/$defs/a","unevaluatedProperties":false,"$defs":{"a":{"properties":{"x":{}}}}}"##,
            #"{"x":1,"y":1}"#, ["/y unevaluatedProperties"]),
        KeywordCase(#"{"properties":{"n":{"properties":{"a":{}}}},"unevaluatedProperties":false}"#, #"{"n":{"b":1}}"#),
        KeywordCase(#"{"unevaluatedProperties":false}"#, "[1]"),
        // unevaluatedItems likewise, with prefixItems, items and contains.
        KeywordCase(#"{"prefixItems":[{}],"unevaluatedItems":false}"#, "[1,2]", ["/1 unevaluatedItems"]),
        KeywordCase(#"{"prefixItems":[{}],"items":{},"unevaluatedItems":false}"#, "[1,2]"),
        KeywordCase(#"{"contains":{"type":"string"},"unevaluatedItems":{"type":"integer"}}"#, #"["a",1,null]"#, ["/2 type"]),
        KeywordCase(#"{"allOf":[{"prefixItems":[{},{}]}],"unevaluatedItems":false}"#, "[1,2,3]", ["/2 unevaluatedItems"]),
        KeywordCase(#"{"unevaluatedItems":false}"#, #"{"a":1}"#),
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
        ##"{"$recursiveRef":"#"}"##,
        ##"{"$dynamicRef":"#meta"}"##,
        #"{"$dynamicRef":"missing.json"}"#,
        #"{"unevaluatedProperties":5}"#,
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

    @Test func anIdInsideAnUnknownKeywordIsNotAnIdentifier() throws {
        let schema = #"{"x-data":{"$id":"https://test.example/hidden.json","type":"string"},"$ref":"hidden.json"}"#
        #expect(throws: SchemaError.self) { _ = try violations(schema, "1") }
        // A JSON Pointer into the unknown keyword still reaches it, with the base of the schema around it.
        let byPointer = ##"{"$id":"https://test.example/dir/","x-data":{"s":{"$ref":"#/$defs/n"}},"$ref":"#/x-data/s","$defs":{"n":{"type":"number"}}}"##
        #expect(try violations(byPointer, #""a""#) == [" type"])
    }

    @Test func anIdThatIsOnlyAFragmentDoesNotHideItsResource() throws {
        let schema = ##"{"properties":{"a":{"$ref":"#/$defs/n"}},"$defs":{"n":{"$id":"#n","type":"number"},"e":{"$id":""}}}"##
        #expect(try violations(schema, #"{"a":"x"}"#) == ["/a type"])
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

/// `$dynamicRef` and `$dynamicAnchor`: a reference that lands on a `$dynamicAnchor` of its fragment's name
/// resolves to the outermost resource of the dynamic scope that declares that anchor; otherwise it is a `$ref`.
@Suite struct DynamicReferenceTests {
    static let tree = ##"""
        {"$id":"https://test.example/tree","$dynamicAnchor":"node","type":"object",
         "properties":{"data":true,"children":{"type":"array","items":{"$dynamicRef":"#node"}}}}
        """##
    static let strictTree = ##"{"$id":"https://test.example/strict-tree","$dynamicAnchor":"node","$ref":"tree","unevaluatedProperties":false}"##

    @Test func anExtensionAppliesAllTheWayDown() throws {
        let extra = [("https://test.example/tree", Self.tree)]
        let misspelled = #"{"children":[{"data":1},{"children":[{"daat":1}]}]}"#
        #expect(try violations(Self.strictTree, misspelled, extra: extra) == ["/children/1/children/0/daat unevaluatedProperties"])
        // The tree on its own resolves #node to itself, and does not mind.
        #expect(try violations(Self.tree, misspelled) == [])
    }

    @Test func withoutAMatchingDynamicAnchorItIsARef() throws {
        // The target has only an $anchor of that name: no dynamic resolution, the root's anchor is not used.
        let schema = ##"""
            {"$id":"https://test.example/list-root","$dynamicAnchor":"item","$ref":"list",
             "$defs":{"list":{"$id":"list","type":"array","items":{"$dynamicRef":"#item"},"$defs":{"i":{"$anchor":"item"}}}}}
            """##
        #expect(try violations(schema, "[1,[2]]") == [])
    }

    @Test func theOutermostDeclaringResourceWins() throws {
        let schema = ##"""
            {"$id":"https://test.example/outer","$ref":"middle","$defs":{
              "v":{"$dynamicAnchor":"v","type":"string"},
              "middle":{"$id":"middle","$ref":"inner","$defs":{"v":{"$dynamicAnchor":"v","type":"number"}}},
              "inner":{"$id":"inner","items":{"$dynamicRef":"#v"},"$defs":{"v":{"$dynamicAnchor":"v"}}}}}
            """##
        #expect(try violations(schema, #"["a",1]"#) == ["/1 type"])
    }

    @Test func aPointerFragmentIsAlwaysStatic() throws {
        let schema = ##"{"$dynamicAnchor":"n","items":{"$dynamicRef":"#/$defs/n"},"$defs":{"n":{"$dynamicAnchor":"n","type":"null"}}}"##
        #expect(try violations(schema, "[null,1]") == ["/1 type"])
    }

    /// The contract's hot path: a schema with no dynamic `$dynamicRef` compiles to a validator that does not
    /// keep a dynamic scope at all.
    @Test func onlyDynamicReferencesMakeEvaluationTrackTheScope() throws {
        func tracks(_ schema: String, extra: [(String, String)] = []) throws -> Bool {
            var registry = SchemaRegistry()
            for (uri, text) in extra { try registry.add(json: text, uri: uri) }
            try registry.add(json: schema, uri: "https://test.example/scope.json")
            return try registry.validator(for: "https://test.example/scope.json").tracksDynamicScope
        }
        #expect(try tracks(##"{"properties":{"a":{"$ref":"#/$defs/a"}},"$defs":{"a":{"type":"string"}}}"##) == false)
        #expect(try tracks(##"{"items":{"$dynamicRef":"#/$defs/a"},"$defs":{"a":{"$dynamicAnchor":"a"}}}"##) == false)
        #expect(try tracks(##"{"items":{"$dynamicRef":"#a"},"$defs":{"a":{"$anchor":"a"}}}"##) == false)
        #expect(try tracks(Self.strictTree, extra: [("https://test.example/tree", Self.tree)]) == true)
    }
}
