import JSONSchemaValidation

/// A validated `GET /stats` query (spec/stats-query.schema.json).
public struct StatsQuery: Sendable, Hashable {
    /// Which UTC days the query covers.
    public enum Period: Sendable, Hashable {
        case allTime
        case day(CalendarDate)
        /// Inclusive at both ends.
        case range(from: CalendarDate, to: CalendarDate)

        /// The inclusive range of days, or nil for all time.
        public var days: ClosedRange<CalendarDate>? {
            switch self {
            case .allTime: nil
            case .day(let day): day...day
            case .range(let from, let to): from...to
            }
        }
    }

    public static let defaultLimit = 10

    public var siteID: String
    public var period: Period
    /// Count only events of this type; nil counts every type.
    public var eventType: String?
    /// How many top paths to return.
    public var limit: Int

    public init(siteID: String, period: Period = .allTime, eventType: String? = nil, limit: Int = StatsQuery.defaultLimit) {
        self.siteID = siteID
        self.period = period
        self.eventType = eventType
        self.limit = limit
    }

    /// True when the event is one this query counts.
    public func matches(_ event: Event) -> Bool {
        guard event.siteID.utf8.elementsEqual(siteID.utf8) else { return false }
        if let eventType, !event.eventType.utf8.elementsEqual(eventType.utf8) { return false }
        if let days = period.days { return days.contains(event.utcDate) }
        return true
    }

    /// Parses query parameters, in the order given. Names the schema does not list are ignored.
    public static func parse(
        _ parameters: [(name: String, value: String)], contract: Contract = .embedded
    ) -> Result<StatsQuery, ContractViolation> {
        let known: Set<String> = ["site_id", "date", "from", "to", "event_type", "limit"]
        var object = JSONObject()
        var problems: [SchemaViolation] = []
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
            if name == "limit", value.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") || $0 == UInt8(ascii: "-") }),
                value.utf8.dropFirst().allSatisfy({ $0 != UInt8(ascii: "-") }), let number = Int(value) {
                object[name] = .number(Double(number))
            } else {
                object[name] = .string(value)
            }
        }
        // A range parameter beside `date` fails the `false` schema of dependentSchemas; say it plainly.
        problems += contract.statsQuery.validate(.object(object)).map { problem in
            guard problem.keyword == "properties", object["date"] != nil,
                ["/from", "/to"].contains(problem.instancePath.description)
            else { return problem }
            return SchemaViolation(instancePath: problem.instancePath, keyword: problem.keyword, message: "cannot be combined with date")
        }

        func day(_ name: String) -> CalendarDate? {
            guard let text = object[name]?.stringValue, case .success(let date) = RFC3339.parseDate(text) else { return nil }
            return date
        }
        if let from = day("from"), let to = day("to"), to < from {
            problems.append(SchemaViolation(
                instancePath: JSONPointer([.key("to")]), keyword: "order", message: "must not be before from (\(from))"))
        }
        guard problems.isEmpty else {
            let missingSite = problems.contains { $0.keyword == "required" && $0.instancePath.description == "/site_id" }
            let names = problems.map { $0.instancePath.tokens.first.map { token -> String in
                if case .key(let key) = token { return key }
                return ""
            } ?? "" }
            var unique: [String] = []
            for name in names where !unique.contains(name) { unique.append(name) }
            let summary = missingSite
                ? "site_id required"
                : "invalid query parameter\(unique.count == 1 ? "" : "s"): \(unique.joined(separator: ", "))"
            return .failure(ContractViolation(summary: summary, details: problems))
        }

        let period: Period
        if let date = day("date") {
            period = .day(date)
        } else if let from = day("from"), let to = day("to") {
            period = .range(from: from, to: to)
        } else {
            period = .allTime
        }
        return .success(StatsQuery(
            siteID: object["site_id"]!.stringValue!,
            period: period,
            eventType: object["event_type"]?.stringValue,
            limit: object["limit"]?.numberValue.map { Int($0) } ?? defaultLimit
        ))
    }
}
