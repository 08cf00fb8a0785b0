@testable import AnalyticsCLI
import ArgumentParser
import Foundation
import Testing

@Suite final class ValidateCommandTests {
    let folder: URL = {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("validate-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()

    deinit { try? FileManager.default.removeItem(at: folder) }

    func write(_ text: String, _ name: String = "input.json") -> String {
        let url = folder.appendingPathComponent(name)
        try! Data(text.utf8).write(to: url)
        return url.path
    }

    /// The exit status `analytics validate ARGS` ends with.
    func exitStatus(_ arguments: [String]) throws -> Int32 {
        let command = try ValidateCommand.parse(arguments + ["--quiet"])
        do {
            try command.run()
            return 0
        } catch let exit as ExitCode {
            return exit.rawValue
        }
    }

    let seed = #"{"site_id":"demo","event_type":"view","path":"/","user_id":"u1","timestamp":"2025-11-14T10:00:00Z"}"#

    @Test func theSeedExampleIsValid() throws {
        #expect(try exitStatus([write(seed)]) == 0)
    }

    @Test func anInvalidEventExitsOne() throws {
        let bad = #"{"site_id":"","event_type":"view","path":"x","timestamp":"2025-13-01T00:00:00Z","extra":1}"#
        #expect(try exitStatus([write(bad)]) == 1)
    }

    @Test func oneBadNDJSONLineAmongGoodOnesExitsOne() throws {
        #expect(try exitStatus([write("\(seed)\n\(seed)\n{\"site_id\":1}\n")]) == 1)
        #expect(try exitStatus([write("\(seed)\n\(seed)\n")]) == 0)
    }

    @Test func unreadableInputOrSchemaExitsTwo() throws {
        #expect(try exitStatus([folder.appendingPathComponent("missing.json").path]) == 2)
        #expect(try exitStatus([write("not json")]) == 2)
        #expect(try exitStatus(["--schema", write("{\"type\": \"strung\"}", "bad.schema.json"), write(seed)]) == 2)
        #expect(try exitStatus(["--schema", folder.appendingPathComponent("none.json").path, write(seed)]) == 2)
    }

    @Test func anotherSchemaWithRelativeRefsToItsSiblings() throws {
        _ = write(#"{"$defs":{"short":{"maxLength":3}}}"#, "defs.json")
        let schema = write(#"{"type":"object","properties":{"name":{"$ref":"defs.json#/$defs/short"}}}"#, "person.schema.json")
        #expect(try exitStatus(["--schema", schema, write(#"{"name":"Ada"}"#)]) == 0)
        #expect(try exitStatus(["--schema", schema, write(#"{"name":"Grace"}"#)]) == 1)
    }

    @Test func aBatchSchemaTakesTheArrayWhole() throws {
        let batchSchema = Repository.spec.appendingPathComponent("batch.schema.json").path
        #expect(try exitStatus(["--schema", batchSchema, write("[\(seed),\(seed)]")]) == 0)
        #expect(try exitStatus(["--schema", batchSchema, write("[]")]) == 1)
    }

    @Test func aClientSchemaCanBuildOnTheContract() throws {
        let schema = write(#"""
            {"allOf":[{"$ref":"https://analytics.example/spec/event.schema.json"},
                      {"properties":{"event_type":{"enum":["view","click"]}}}]}
            """#, "strict.schema.json")
        #expect(try exitStatus(["--schema", schema, write(seed)]) == 0)
        #expect(try exitStatus(["--schema", schema, write(seed.replacingOccurrences(of: "\"view\"", with: "\"scroll\""))]) == 1)
    }
}
