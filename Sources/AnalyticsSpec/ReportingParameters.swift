import JSONSchemaValidation

/// The query parameters of a reporting endpoint, read the same way for each: the names the schema
/// lists, each at most once, as strings, except plain-digit integers where the schema wants one; then
/// the schema's verdict and the checks it cannot express (`order`, `zone`), all reported together.
struct ReportingParameters {
    private(set) var object = JSONObject()
    private(set) var problems: [SchemaViolation] = []

    init(_ parameters: [(name: String, value: String)], known: Set<String>, integers: Set<String>, schema: JSONSchemaValidator) {
        for (name, value) in parameters where known.contains(name) {
            guard object[name] == nil else {
                if !problems.contains(where: { $0.instancePath.description == "/" + name }) {
                    problems.append(SchemaViolation(
                        instancePath: JSONPointer([.key(name)]), keyword: "duplicate", message: "must be given once"))
                }
                continue
            }
            // Only plain digits are an integer: Swift's Int("+5") would accept a sign the schema's
            // readers (and the OpenAPI parameter) do not.
            if integers.contains(name), Self.isPlainInteger(value), let number = Int(value) {
                object[name] = .number(Double(number))
            } else {
                object[name] = .string(value)
            }
        }
        // A range parameter beside `date` fails the `false` schema of dependentSchemas; say it plainly.
        let object = object
        problems += schema.validate(.object(object)).map { problem in
            guard problem.keyword == "properties", object["date"] != nil,
                ["/from", "/to"].contains(problem.instancePath.description)
            else { return problem }
            return SchemaViolation(instancePath: problem.instancePath, keyword: problem.keyword, message: "cannot be combined with date")
        }
        if let from = day("from"), let to = day("to"), to < from {
            report("to", keyword: "order", message: "must not be before from (\(from))")
        }
    }

    private static func isPlainInteger(_ value: String) -> Bool {
        let digits = value.utf8.first == UInt8(ascii: "-") ? value.utf8.dropFirst() : value.utf8[...]
        return !digits.isEmpty && digits.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    mutating func report(_ name: String, keyword: String, message: String) {
        problems.append(SchemaViolation(instancePath: JSONPointer([.key(name)]), keyword: keyword, message: message))
    }

    func string(_ name: String) -> String? { object[name]?.stringValue }

    func integer(_ name: String) -> Int? { object[name]?.numberValue.map { Int($0) } }

    func day(_ name: String) -> CalendarDate? {
        guard let text = string(name), case .success(let date) = RFC3339.parseDate(text) else { return nil }
        return date
    }

    /// The zone named by `tz`, reporting an unknown one; nil when `tz` is absent or invalid.
    mutating func zone() -> ReportingZone? {
        guard let name = string("tz"), !problems.contains(where: { $0.instancePath.description == "/tz" }) else { return nil }
        guard let zone = ReportingZone(named: name) else {
            report("tz", keyword: "zone", message: "is not a time zone the server knows")
            return nil
        }
        return zone
    }

    /// `date`, or `from` and `to`, or all time; meaningful once `problems` is empty.
    var period: StatsQuery.Period {
        if let date = day("date") { return .day(date) }
        if let from = day("from"), let to = day("to") { return .range(from: from, to: to) }
        return .allTime
    }

    /// The 400's violation: `site_id required` when that is missing, else the names of the bad parameters.
    var violation: ContractViolation? {
        guard !problems.isEmpty else { return nil }
        let missingSite = problems.contains { $0.keyword == "required" && $0.instancePath.description == "/site_id" }
        var names: [String] = []
        for problem in problems {
            let name: String
            if case .key(let key)? = problem.instancePath.tokens.first { name = key } else { name = "" }
            if !names.contains(name) { names.append(name) }
        }
        let summary = missingSite
            ? "site_id required"
            : "invalid query parameter\(names.count == 1 ? "" : "s"): \(names.joined(separator: ", "))"
        return ContractViolation(summary: summary, details: problems)
    }
}
