@testable import AnalyticsCLI
import AnalyticsSpec
import Foundation
import JSONSchemaValidation
import Testing

/// One golden case of fixtures/events (the JSON-Schema-Test-Suite shape).
struct Fixture: CustomTestStringConvertible, Sendable {
    let file: String
    let description: String
    let data: JSONValue
    let valid: Bool
    let errors: [String]

    var testDescription: String { "\(file): \(description)" }
    /// fixtures/README.md: batch-*.json files hold batches, every other file single events.
    var schemaFile: String { file.hasPrefix("batch") ? "batch.schema.json" : "event.schema.json" }

    static let all: [Fixture] = {
        var fixtures: [Fixture] = []
        for url in Repository.files(in: Repository.fixtures.appendingPathComponent("events"), withSuffix: ".json") {
            let cases = try! JSONParser.parse(Array(try! Data(contentsOf: url))).arrayValue!
            for item in cases {
                fixtures.append(Fixture(
                    file: url.lastPathComponent,
                    description: item["description"]!.stringValue!,
                    data: item["data"]!,
                    valid: item["valid"]!.boolValue!,
                    errors: item["errors"]!.arrayValue!.map { "\($0["path"]!.stringValue!) \($0["keyword"]!.stringValue!)" }
                ))
            }
        }
        return fixtures
    }()
}

func describe(_ violations: [SchemaViolation]) -> [String] {
    violations.map { "\($0.instancePath) \($0.keyword)" }.sorted()
}

@Suite struct FixtureTests {
    @Test func thereAreEnoughFixtures() {
        #expect(Fixture.all.count >= 80)
        #expect(Fixture.all.contains { $0.valid } && Fixture.all.contains { !$0.valid })
    }

    @Test(arguments: Fixture.all)
    func embeddedContractReachesTheFixtureVerdict(_ fixture: Fixture) {
        let contract = Contract.embedded
        let validator = fixture.schemaFile == "batch.schema.json" ? contract.batch : contract.event
        let found = validator.validate(fixture.data)
        #expect(found.isEmpty == fixture.valid)
        #expect(describe(found) == fixture.errors.sorted())
        #expect(validator.isValid(fixture.data) == fixture.valid)
    }

    /// The route `analytics validate --schema spec/…` takes: the schema read from disk.
    @Test(arguments: Fixture.all)
    func schemaFilesOnDiskReachTheFixtureVerdict(_ fixture: Fixture) throws {
        let (validator, _) = try SchemaLoader.load(schemaFile: Repository.spec.appendingPathComponent(fixture.schemaFile).path)
        #expect(describe(validator.validate(fixture.data)) == fixture.errors.sorted())
    }

    @Test func theIssueExampleReportsEveryViolation() {
        let example: JSONValue = ["site_id": "", "event_type": "view", "path": "x", "timestamp": "2025-13-01T00:00:00Z", "extra": 1]
        let found = Contract.embedded.event.validate(example)
        #expect(Set(found.map { $0.instancePath.description }) == ["/site_id", "/path", "/timestamp", "/extra"])
        #expect(found.count >= 4)
    }
}
