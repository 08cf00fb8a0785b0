import Foundation
import Testing

@testable import JSONSchemaValidation

/// The official JSON-Schema-Test-Suite (draft 2020-12), read from `../shared/json-schema-test-suite` beside
/// the package root. Each run file must pass in full; the files not run are listed in `OfficialSuite.notRun`
/// with the reason. See docs/json-schema-conformance.md.
enum OfficialSuite {
    /// `<package root>/../shared/json-schema-test-suite`; the package root is two folders above this file's.
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // JSONSchemaValidationTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()  // the package root
        .deletingLastPathComponent()
        .appendingPathComponent("shared/json-schema-test-suite", isDirectory: true)

    static let tests = root.appendingPathComponent("tests/draft2020-12", isDirectory: true)
    static let remotes = root.appendingPathComponent("remotes", isDirectory: true)

    static var isPresent: Bool {
        FileManager.default.fileExists(atPath: tests.appendingPathComponent("type.json").path)
    }

    static let absentNote: Comment = """
        the official JSON-Schema-Test-Suite is not at ../shared/json-schema-test-suite beside the package \
        root, so the conformance run is skipped (see docs/json-schema-conformance.md)
        """

    /// A file of the suite to run, and how.
    struct RunFile: CustomTestStringConvertible, Sendable {
        /// Path under tests/draft2020-12/.
        let path: String
        /// `format` asserted (the validator's default) or an annotation only.
        var formatAssertion = true

        var testDescription: String { path + (formatAssertion ? "" : " (format as annotation)") }
    }

    /// Every file run, each in full.
    static let run: [RunFile] = [
        "additionalProperties.json", "allOf.json", "anchor.json", "anyOf.json", "boolean_schema.json", "const.json",
        "contains.json", "content.json", "default.json", "defs.json", "dependentRequired.json",
        "dependentSchemas.json", "dynamicRef.json", "enum.json", "exclusiveMaximum.json", "exclusiveMinimum.json",
        "if-then-else.json", "infinite-loop-detection.json", "items.json", "maxContains.json", "maxItems.json",
        "maxLength.json", "maxProperties.json", "maximum.json", "minContains.json", "minItems.json",
        "minLength.json", "minProperties.json", "minimum.json", "multipleOf.json", "not.json", "oneOf.json",
        "pattern.json", "patternProperties.json", "prefixItems.json", "properties.json", "propertyNames.json",
        "ref.json", "refRemote.json", "required.json", "type.json", "uniqueItems.json",
        "unevaluatedItems.json", "unevaluatedProperties.json", "vocabulary.json",
        "optional/anchor.json", "optional/bignum.json", "optional/dynamicRef.json",
        "optional/ecmascript-regex.json", "optional/float-overflow.json", "optional/id.json",
        "optional/no-schema.json", "optional/non-bmp-regex.json", "optional/refOfUnknownKeyword.json",
        "optional/unknownKeyword.json",
        "optional/format/date-time.json", "optional/format/date.json", "optional/format/time.json",
        "optional/format/uuid.json", "optional/format/unknown.json",
    ].map { RunFile(path: $0) } + [
        // The main folder's format.json expects `format` to be an annotation only (2020-12's default
        // vocabulary); this validator asserts it unless the registry says otherwise.
        RunFile(path: "format.json", formatAssertion: false)
    ]

    /// Every file not run, with the reason.
    static let notRun: [String: String] = {
        var reasons: [String: String] = [
            "optional/cross-draft.json":
                "refers to draft 2019-09 documents and expects their dialect to apply; this validator knows 2020-12 only",
            "optional/dependencies-compatibility.json":
                "tests draft 7's `dependencies`, which is not a 2020-12 keyword (here an annotation, as 2020-12 says)",
            "optional/format-assertion.json":
                "asserts format \"ipv4\", which this validator does not assert (FormatAssertion.assertedFormats)",
        ]
        let notAsserted = [
            "duration", "ecmascript-regex", "email", "hostname", "idn-email", "idn-hostname", "ipv4", "ipv6",
            "iri-reference", "iri", "json-pointer", "regex", "relative-json-pointer", "uri-reference",
            "uri-template", "uri",
        ]
        for format in notAsserted {
            let name = format == "ecmascript-regex" ? "regex (ECMA-262 flavour)" : "\"\(format)\""
            reasons["optional/format/\(format).json"] =
                "format \(name) is not asserted by this validator (FormatAssertion.assertedFormats: date-time, date, time, uuid); its invalid cases would pass"
        }
        return reasons
    }()

    /// Folders of remotes/ holding documents of other drafts, which no 2020-12 test run here refers to.
    static let otherDraftRemotes: Set<String> = ["draft3", "draft4", "draft6", "draft7", "draft2019-09", "v1"]

    /// remotes/, each document parsed and keyed by `http://localhost:1234/<path>`, and the files that would not load.
    static let remoteDocuments: (documents: [(uri: String, document: JSONValue)], problems: [String]) = {
        guard isPresent else { return ([], []) }
        var documents: [(uri: String, document: JSONValue)] = []
        var problems: [String] = []
        let prefix = remotes.standardizedFileURL.path.count + 1
        let enumerator = FileManager.default.enumerator(at: remotes, includingPropertiesForKeys: nil)
        while let url = enumerator?.nextObject() as? URL {
            let relative = String(url.standardizedFileURL.path.dropFirst(prefix))
            guard relative.hasSuffix(".json"), let folder = relative.split(separator: "/").first,
                !otherDraftRemotes.contains(String(folder))
            else { continue }
            do {
                let text = try String(contentsOf: url, encoding: .utf8)
                documents.append(("http://localhost:1234/" + relative, try JSONParser.parse(text)))
            } catch {
                problems.append("\(relative): \(error)")
            }
        }
        return (documents.sorted { $0.uri < $1.uri }, problems)
    }()

    /// A registry holding every remote, as `refRemote.json` expects to find them.
    static func registry(formatAssertion: Bool) throws -> SchemaRegistry {
        var registry = SchemaRegistry(formatAssertion: formatAssertion)
        for (uri, document) in remoteDocuments.documents { try registry.add(document, uri: uri) }
        return registry
    }

    struct Outcome {
        var cases = 0
        var failures: [String] = []
    }

    /// Runs one file: every group's schema is compiled in a registry of its own (with the remotes), and every
    /// case must be valid or invalid as the suite says, by `isValid` and by `validate` alike.
    static func run(_ file: RunFile) throws -> Outcome {
        let text = try String(contentsOf: tests.appendingPathComponent(file.path), encoding: .utf8)
        guard let groups = try JSONParser.parse(text).arrayValue else { throw SuiteError("\(file.path) is not an array") }
        let base = try registry(formatAssertion: file.formatAssertion)
        var outcome = Outcome()
        for (offset, group) in groups.enumerated() {
            let description = group["description"]?.stringValue ?? "group \(offset)"
            let cases = group["tests"]?.arrayValue ?? []
            outcome.cases += cases.count
            guard let schema = group["schema"] else { throw SuiteError("\(file.path): \(description) has no schema") }
            var registry = base
            let validator: JSONSchemaValidator
            do {
                let uri = try registry.add(schema, uri: "https://json-schema-test-suite.example/\(file.path)/\(offset)")
                validator = try registry.validator(for: uri)
            } catch {
                outcome.failures.append("\(description): schema refused: \(error)")
                continue
            }
            for testCase in cases {
                guard let data = testCase["data"], let expected = testCase["valid"]?.boolValue else {
                    throw SuiteError("\(file.path): \(description): malformed case")
                }
                let name = testCase["description"]?.stringValue ?? "?"
                let verdict = validator.isValid(data)
                let violations = validator.validate(data)
                if verdict != expected || violations.isEmpty != expected {
                    outcome.failures.append(
                        "\(description) / \(name): expected \(expected ? "valid" : "invalid"), isValid says \(verdict), "
                            + "validate found \(violations.map(\.description))")
                }
            }
        }
        return outcome
    }

    struct SuiteError: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}

@Suite(.enabled(if: OfficialSuite.isPresent, OfficialSuite.absentNote))
struct OfficialSuiteTests {
    @Test(arguments: OfficialSuite.run)
    func file(_ file: OfficialSuite.RunFile) throws {
        let outcome = try OfficialSuite.run(file)
        #expect(outcome.cases > 0)
        #expect(outcome.failures.isEmpty, "\(outcome.failures.count) of \(outcome.cases) cases failed:\n\(outcome.failures.joined(separator: "\n"))")
    }

    /// A suite update that adds a file makes this fail until the file is run or listed with its reason.
    @Test func everyFileIsRunOrHasAReason() throws {
        var present: Set<String> = []
        let enumerator = FileManager.default.enumerator(at: OfficialSuite.tests, includingPropertiesForKeys: nil)
        let prefix = OfficialSuite.tests.standardizedFileURL.path.count + 1
        while let url = enumerator?.nextObject() as? URL {
            if url.pathExtension == "json" { present.insert(String(url.standardizedFileURL.path.dropFirst(prefix))) }
        }
        let run = Set(OfficialSuite.run.map(\.path))
        let listed = run.union(OfficialSuite.notRun.keys)
        #expect(run.isDisjoint(with: OfficialSuite.notRun.keys))
        #expect(present.subtracting(listed).sorted() == [], "files neither run nor listed as not run")
        #expect(listed.subtracting(present).sorted() == [], "files listed that the suite does not have")
    }

    @Test func remotesAreServedFromAMap() throws {
        let (documents, problems) = OfficialSuite.remoteDocuments
        #expect(problems == [])
        #expect(documents.contains { $0.uri == "http://localhost:1234/draft2020-12/integer.json" })
        #expect(documents.contains { $0.uri == "http://localhost:1234/integer.json" })
        _ = try OfficialSuite.registry(formatAssertion: true)
    }
}
