import Foundation
import Testing

@testable import JSONSchemaValidation

/// The built-in 2020-12 metaschemas, `$schema` and `$vocabulary`, and the registry's options.
@Suite struct MetaschemaTests {
    static let dialect = "https://json-schema.org/draft/2020-12/schema"

    @Test func everyBuiltInParsesAndIsKnownByItsId() throws {
        #expect(Metaschemas.documents.count == 8)
        let registry = SchemaRegistry()
        for (uri, text) in Metaschemas.documents {
            let document = try JSONParser.parse(text)
            #expect(document["$id"]?.stringValue == uri)
            #expect(document["$schema"]?.stringValue == Self.dialect)
            #expect(document["$dynamicAnchor"]?.stringValue == "meta")
            _ = try registry.validator(for: uri)
        }
    }

    @Test(arguments: [
        ("true", true),
        (#"{"type":"string","minLength":1,"pattern":"^\\p{L}"}"#, true),
        (##"{"properties":{"a":{"$ref":"#"}},"$defs":{"b":{"items":{"type":"null"}}}}"##, true),
        (#"{"maxBytes":3,"x-anything":{"type":7}}"#, true),
        ("5", false),
        (#"{"minLength":-1}"#, false),
        (#"{"type":"strung"}"#, false),
        // Nested schemas are checked through $dynamicRef "#meta", resolved to the metaschema itself.
        (#"{"properties":{"a":5}}"#, false),
        (#"{"$defs":{"x":{"type":7}}}"#, false),
        (#"{"items":{"not":{"required":"a"}}}"#, false),
        (#"{"allOf":[]}"#, false),
        (#"{"$id":"https://x.example/a#frag"}"#, false),
    ])
    func theMetaschemaValidatesSchemas(schema: String, valid: Bool) throws {
        let validator = try SchemaRegistry().validator(for: Self.dialect)
        let instance = try JSONParser.parse(schema)
        #expect(validator.isValid(instance) == valid)
        #expect(validator.validate(instance).isEmpty == valid)
    }

    @Test func aRefToTheMetaschemaResolves() throws {
        let schema = #"{"properties":{"schema":{"$ref":"https://json-schema.org/draft/2020-12/schema"}}}"#
        #expect(try violations(schema, #"{"schema":{"type":"object"}}"#) == [])
        #expect(try violations(schema, #"{"schema":{"type":"objet"}}"#) == ["/schema/type anyOf"])
    }

    @Test func theBuiltInsAreValidAgainstTheMetaschema() throws {
        let validator = try SchemaRegistry().validator(for: Self.dialect)
        for (uri, text) in Metaschemas.documents {
            #expect(validator.validate(try JSONParser.parse(text)) == [], "\(uri)")
        }
    }

    /// The contract's own schemas declare 2020-12 and must be valid 2020-12 schemas.
    @Test func theContractSchemasAreValid2020_12Schemas() throws {
        let spec = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("spec", isDirectory: true)
        let names = try FileManager.default.contentsOfDirectory(atPath: spec.path).filter { $0.hasSuffix(".schema.json") }
        #expect(!names.isEmpty)
        let validator = try SchemaRegistry().validator(for: Self.dialect)
        for name in names {
            let schema = try JSONParser.parse(try String(contentsOf: spec.appendingPathComponent(name), encoding: .utf8))
            #expect(schema["$schema"]?.stringValue == Self.dialect, "\(name)")
            #expect(validator.validate(schema) == [], "\(name)")
        }
    }

    @Test func anAddedDocumentReplacesABuiltInOfTheSameURI() throws {
        let uri = "https://json-schema.org/draft/2020-12/meta/validation"
        var registry = SchemaRegistry()
        try registry.add(json: #"{"$id":"\#(uri)","const":"mine","$defs":{"stringArray":{}}}"#, uri: uri)
        let validator = try registry.validator(for: uri)
        #expect(validator.isValid("mine"))
        #expect(!validator.isValid(["type": "string"]))
        // Only once: a second document with that URI is refused, as for any URI.
        #expect(throws: SchemaError.self) { try registry.add(json: #"{"$id":"\#(uri)"}"#, uri: uri) }
        // The other built-ins are still there, and the metaschema now uses the replacement.
        #expect(try registry.validator(for: Self.dialect).isValid([:]) == false)
        #expect(try SchemaRegistry().validator(for: Self.dialect).isValid([:]))
        #expect(try registry.validator(for: "https://json-schema.org/draft/2020-12/meta/core").isValid(["$id": 5]) == false)
    }

    @Test func userDocumentsStillMayNotShareAURI() throws {
        var registry = SchemaRegistry()
        try registry.add(json: "{}", uri: "https://test.example/a.json")
        #expect(throws: SchemaError.self) { try registry.add(json: "{}", uri: "https://test.example/a.json") }
    }

    // MARK: $schema and $vocabulary

    static let noValidation = #"""
        {"$id":"https://test.example/meta/no-validation","$schema":"https://json-schema.org/draft/2020-12/schema",
         "$vocabulary":{"https://json-schema.org/draft/2020-12/vocab/core":true,
                        "https://json-schema.org/draft/2020-12/vocab/applicator":true,
                        "https://test.example/vocab/optional":false},
         "$dynamicAnchor":"meta",
         "allOf":[{"$ref":"https://json-schema.org/draft/2020-12/meta/core"},
                  {"$ref":"https://json-schema.org/draft/2020-12/meta/applicator"}]}
        """#

    @Test func aMetaschemasVocabularyDecidesWhichKeywordsApply() throws {
        let schema = #"""
            {"$schema":"https://test.example/meta/no-validation",
             "properties":{"n":{"minimum":10,"type":"string"},"bad":false}}
            """#
        let extra = [("https://test.example/meta/no-validation", Self.noValidation)]
        // Validation keywords are not keywords under this metaschema; applicators still are.
        #expect(try violations(schema, #"{"n":1}"#, extra: extra) == [])
        #expect(try violations(schema, #"{"bad":1}"#, extra: extra) == ["/bad properties"])
        // An embedded resource without $schema of its own inherits its parent's.
        let embedded = #"{"$schema":"https://test.example/meta/no-validation","properties":{"e":{"$id":"e","type":"string"}}}"#
        #expect(try violations(embedded, #"{"e":1}"#, extra: extra) == [])
    }

    @Test func anUnknownRequiredVocabularyIsRefused() throws {
        let meta = #"""
            {"$id":"https://test.example/meta/custom",
             "$vocabulary":{"https://json-schema.org/draft/2020-12/vocab/core":true,"https://test.example/vocab/custom":true}}
            """#
        #expect(throws: SchemaError.self) {
            _ = try violations(#"{"$schema":"https://test.example/meta/custom"}"#, "1", extra: [("https://test.example/meta/custom", meta)])
        }
    }

    @Test func aSchemaOfTheStandardDialectOrOfAnUnknownOneKeepsEveryKeyword() throws {
        #expect(try violations(#"{"$schema":"https://json-schema.org/draft/2020-12/schema","minimum":2}"#, "1") == [" minimum"])
        #expect(try violations(#"{"$schema":"https://json-schema.org/draft/2020-12/schema#","minimum":2}"#, "1") == [" minimum"])
        #expect(try violations(#"{"$schema":"https://unknown.example/schema","minimum":2}"#, "1") == [" minimum"])
    }

    // MARK: Registry options

    @Test func formatIsAssertedUnlessTheRegistrySaysOtherwise() throws {
        let schema = JSONValue.object(JSONObject([(key: "format", value: "date")]))
        for (formatAssertion, valid) in [(true, false), (false, true)] {
            var registry = SchemaRegistry(formatAssertion: formatAssertion)
            try registry.add(schema, uri: "https://test.example/f.json")
            let validator = try registry.validator(for: "https://test.example/f.json")
            #expect(validator.isValid("2025-02-30") == valid)
            #expect(validator.isValid("2025-02-28"))
        }
        // Even as an annotation, the keyword's value must be a string.
        var registry = SchemaRegistry(formatAssertion: false)
        try registry.add(json: #"{"format":5}"#, uri: "https://test.example/g.json")
        #expect(throws: SchemaError.self) { _ = try registry.validator(for: "https://test.example/g.json") }
    }

    @Test func theFormatVocabulariesDecideWhatFormatIs() throws {
        func metaschema(_ vocabulary: String?) -> String {
            let format = vocabulary.map { #","https://json-schema.org/draft/2020-12/vocab/\#($0)":true"# } ?? ""
            return #"{"$id":"https://test.example/meta/f","$vocabulary":{"https://json-schema.org/draft/2020-12/vocab/core":true\#(format)}}"#
        }
        func isValid(_ vocabulary: String?, registryAsserts: Bool) throws -> Bool {
            var registry = SchemaRegistry(formatAssertion: registryAsserts)
            try registry.add(json: metaschema(vocabulary), uri: "https://test.example/meta/f")
            try registry.add(json: #"{"$schema":"https://test.example/meta/f","format":"date"}"#, uri: "https://test.example/s.json")
            return try registry.validator(for: "https://test.example/s.json").isValid("2025-02-30")
        }
        #expect(try isValid("format-assertion", registryAsserts: false) == false)
        #expect(try isValid("format-annotation", registryAsserts: true) == false)
        #expect(try isValid("format-annotation", registryAsserts: false) == true)
        #expect(try isValid(nil, registryAsserts: true) == true)
    }

    @Test func maxBytesIsAKeywordOnlyWhereTheRegistryEnablesIt() throws {
        let schema = #"{"$schema":"https://json-schema.org/draft/2020-12/schema","maxBytes":3,"maxLength":3}"#
        for (extensions, expected) in [([SchemaExtension.maxBytes], [" maxBytes"]), ([], [])] {
            var registry = SchemaRegistry(extensions: Set(extensions))
            try registry.add(json: schema, uri: "https://test.example/b.json")
            let validator = try registry.validator(for: "https://test.example/b.json")
            #expect(validator.validate("\u{E9}\u{E9}").map { "\($0.instancePath) \($0.keyword)" } == expected)
            #expect(validator.isValid("abc"))
        }
    }
}
