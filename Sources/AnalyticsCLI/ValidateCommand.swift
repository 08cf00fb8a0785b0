import AnalyticsSpec
import ArgumentParser
import Foundation
import JSONSchemaValidation

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check events (or any JSON) against the contract or another JSON Schema.",
        discussion: """
            Input is a JSON object, a JSON array (each item is checked) or NDJSON (each line is checked). \
            Every invalid item is printed with its index, its line for NDJSON, and every violation.

            Without --schema, items are checked against the event schema built into this binary \
            (byte-identical to spec/event.schema.json). With --schema, against that file; other schema \
            files in its folder are loaded too, so its relative $refs resolve. A top-level array is one \
            instance, not a list of items, when the schema's root says "type": "array".

            Exit status: 0 when every item is valid, 1 when any is invalid, 2 when the input or the \
            schema cannot be read.
            """
    )

    @Option(name: .long, help: ArgumentHelp("A JSON Schema (draft 2020-12) file to check against instead of the event schema.", valueName: "file"))
    var schema: String?

    @Flag(name: .long, help: "Print one JSON object per invalid item instead of text.")
    var json = false

    @Flag(name: [.short, .long], help: "Print nothing; only the exit status tells.")
    var quiet = false

    @Argument(help: ArgumentHelp("Files to check; '-' or none reads standard input.", valueName: "file"))
    var files: [String] = []

    func run() throws {
        let validator: JSONSchemaValidator
        let splitArrays: Bool
        do {
            (validator, splitArrays) = try SchemaLoader.load(schemaFile: schema)
        } catch {
            Output.error("analytics validate: cannot use schema \(schema ?? "(built-in)"): \(error)")
            throw ExitCode(2)
        }
        var report = ValidationReport(format: json ? .json : .text, quiet: quiet)
        let inputs = files.isEmpty ? ["-"] : files
        for input in inputs {
            do {
                let source = inputs.count > 1 ? input : nil
                try InstanceReader.forEach(in: try Self.read(input), splitArrays: splitArrays) { instance in
                    report.check(instance, against: validator, source: source)
                }
            } catch {
                Output.error("analytics validate: cannot read \(input == "-" ? "standard input" : input): \(error)")
                throw ExitCode(2)
            }
        }
        report.finish()
        if report.invalidCount > 0 { throw ExitCode(1) }
    }

    static func read(_ path: String) throws -> [UInt8] {
        if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

/// Prints the outcome of checking instances, and counts them.
struct ValidationReport {
    enum Format { case text, json }

    let format: Format
    let quiet: Bool
    private(set) var checkedCount = 0
    private(set) var invalidCount = 0
    private var buffer = ""

    init(format: Format, quiet: Bool) {
        self.format = format
        self.quiet = quiet
    }

    mutating func check(_ instance: Instance, against validator: JSONSchemaValidator, source: String?) {
        checkedCount += 1
        let errors: [SchemaViolation]
        switch instance.value {
        case .success(let value): errors = validator.validate(value)
        case .failure(let error): errors = [SchemaViolation(instancePath: .root, keyword: "json", message: error.description)]
        }
        guard !errors.isEmpty else { return }
        invalidCount += 1
        if !quiet { describe(instance, errors, source: source) }
    }

    private mutating func describe(_ instance: Instance, _ errors: [SchemaViolation], source: String?) {
        switch format {
        case .text:
            var heading = "item \(instance.index)"
            if let line = instance.line { heading += " (line \(line))" }
            if let source { heading = "\(source): " + heading }
            buffer += "\(heading): \(errors.count) violation\(errors.count == 1 ? "" : "s")\n"
            for error in errors {
                let path = error.instancePath.description.isEmpty ? "(root)" : error.instancePath.description
                buffer += "  \(path): \(error.message) [\(error.keyword)]\n"
            }
        case .json:
            var members: [(key: String, value: JSONValue)] = []
            if let source { members.append(("file", .string(source))) }
            members.append(("index", .number(Double(instance.index))))
            if let line = instance.line { members.append(("line", .number(Double(line)))) }
            members.append(("errors", ContractViolation(summary: "invalid", details: errors).errorBody["details"]!))
            JSONWriter.write(.object(JSONObject(members)), to: &buffer)
            buffer += "\n"
        }
        if buffer.utf8.count > 64 * 1024 { flush() }
    }

    private mutating func flush() {
        Output.write(buffer)
        buffer = ""
    }

    mutating func finish() {
        flush()
        if !quiet, format == .text {
            Output.error("\(checkedCount) checked, \(checkedCount - invalidCount) valid, \(invalidCount) invalid")
        }
    }
}

/// Compiles the schema `analytics validate` checks against.
enum SchemaLoader {
    /// The validator, and whether a top-level array is to be read as a list of items.
    static func load(schemaFile: String?) throws -> (JSONSchemaValidator, splitArrays: Bool) {
        guard let schemaFile else { return (Contract.embedded.event, true) }
        let file = URL(fileURLWithPath: schemaFile).standardizedFileURL
        let text = try String(contentsOf: file, encoding: .utf8)
        let root = try JSONParser.parse(text)

        // The schema's folder first, then the built-in contract for any $id the folder does not have.
        var documents: [(uri: String, value: JSONValue)] = [(file.absoluteString, root)]
        let folder = file.deletingLastPathComponent()
        let siblings = (try? FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)) ?? []
        for sibling in siblings.sorted(by: { $0.path < $1.path })
        where sibling.pathExtension == "json" && sibling.standardizedFileURL != file {
            guard let data = try? Data(contentsOf: sibling), let value = try? JSONParser.parse(Array(data)),
                value.objectValue != nil
            else { continue }
            documents.append((sibling.standardizedFileURL.absoluteString, value))
        }
        for document in Contract.embeddedDocuments {
            documents.append((Contract.baseURI + document.name, try JSONParser.parse(document.text)))
        }
        var registry = SchemaRegistry(extensions: [.maxBytes])
        var seen = Set<String>()
        var rootURI = file.absoluteString
        for (offset, document) in documents.enumerated() {
            let id = document.value["$id"]?.stringValue ?? document.uri
            guard seen.insert(id).inserted else { continue }
            let registered = try registry.add(document.value, uri: document.uri)
            if offset == 0 { rootURI = registered }
        }
        let validator = try registry.validator(for: rootURI)
        let describesArrays = root["type"]?.stringValue == "array"
        return (validator, !describesArrays)
    }
}

enum Output {
    static func write(_ text: String) {
        guard !text.isEmpty else { return }
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    static func error(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
