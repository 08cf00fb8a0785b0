import JSONSchemaValidation

/// A validated `GET /stats/breakdown` query (spec/breakdown-query.schema.json).
public struct BreakdownQuery: Sendable, Hashable {
    public enum Dimension: String, Sendable, Hashable, CaseIterable {
        case path
        case eventType = "event_type"
    }

    /// Where a page starts: after the row with these views and this value, in the breakdown's order.
    public struct Position: Sendable, Hashable {
        public var views: Int
        public var value: String

        public init(views: Int, value: String) {
            self.views = views
            self.value = value
        }

        /// True when a row with `views` and `value` comes after this position: fewer views, or as many
        /// and a value greater by code point (UTF-8 bytes, as `COLLATE "C"`).
        public func precedes(views: Int, value: String) -> Bool {
            views != self.views ? views < self.views : self.value.utf8.lexicographicallyPrecedes(value.utf8)
        }
    }

    public static let defaultLimit = 10

    public var siteID: String
    public var dimension: Dimension
    public var period: StatsQuery.Period
    /// The zone of the days, when the query named one; UTC otherwise.
    public var zone: ReportingZone?
    public var eventType: String?
    public var limit: Int
    /// Nil for the first page.
    public var after: Position?

    public init(
        siteID: String, dimension: Dimension, period: StatsQuery.Period = .allTime, zone: ReportingZone? = nil,
        eventType: String? = nil, limit: Int = BreakdownQuery.defaultLimit, after: Position? = nil
    ) {
        self.siteID = siteID
        self.dimension = dimension
        self.period = period
        self.zone = zone
        self.eventType = eventType
        self.limit = limit
        self.after = after
    }

    /// The instants the period covers; nil for all time.
    public var instants: Range<Int64>? { period.instants(in: zone) }

    /// The value of the event this query groups it by.
    public func value(of event: Event) -> String {
        switch dimension {
        case .path: event.path
        case .eventType: event.eventType
        }
    }

    /// Parses query parameters, in the order given. Names the schema does not list are ignored.
    public static func parse(
        _ parameters: [(name: String, value: String)], contract: Contract = .embedded
    ) -> Result<BreakdownQuery, ContractViolation> {
        var reader = ReportingParameters(
            parameters, known: ["site_id", "by", "date", "from", "to", "tz", "event_type", "limit", "cursor"],
            integers: ["limit"], schema: contract.breakdownQuery)
        let zone = reader.zone()
        if let violation = reader.violation { return .failure(violation) }
        var query = BreakdownQuery(
            siteID: reader.string("site_id")!,
            dimension: Dimension(rawValue: reader.string("by")!)!,
            period: reader.period,
            zone: zone,
            eventType: reader.string("event_type"),
            limit: reader.integer("limit") ?? defaultLimit
        )
        if let cursor = reader.string("cursor") {
            guard let position = BreakdownCursor.position(in: cursor, for: query) else {
                reader.report("cursor", keyword: "cursor", message: "is not a cursor of this query; start again without it")
                return .failure(reader.violation!)
            }
            query.after = position
        }
        return .success(query)
    }
}

/// The answer to a `BreakdownQuery` (spec/breakdown-response.schema.json).
public struct BreakdownResponse: Sendable, Hashable {
    public struct Row: Sendable, Hashable {
        public var value: String
        public var views: Int
        public var uniqueUsers: Int

        public init(value: String, views: Int, uniqueUsers: Int) {
            self.value = value
            self.views = views
            self.uniqueUsers = uniqueUsers
        }
    }

    public var query: BreakdownQuery
    /// At most `query.limit` rows after `query.after`, in order.
    public var rows: [Row]
    /// True when rows follow the last one.
    public var hasMore: Bool

    public init(query: BreakdownQuery, rows: [Row], hasMore: Bool) {
        self.query = query
        self.rows = rows
        self.hasMore = hasMore
    }

    /// The page of `query` from every row of the breakdown, in any order: sorts them, skips to the
    /// query's position and keeps `limit`. Values compare by their UTF-8 bytes, as `COLLATE "C"` does.
    public static func page(_ query: BreakdownQuery, of all: some Sequence<Row>) -> BreakdownResponse {
        let sorted = all.filter { row in query.after.map { $0.precedes(views: row.views, value: row.value) } ?? true }
            .sorted { $0.views != $1.views ? $0.views > $1.views : $0.value.utf8.lexicographicallyPrecedes($1.value.utf8) }
        return BreakdownResponse(query: query, rows: Array(sorted.prefix(query.limit)), hasMore: sorted.count > query.limit)
    }

    /// The cursor of the next page, or nil after the last.
    public var nextCursor: String? {
        guard hasMore, let last = rows.last else { return nil }
        return BreakdownCursor.make(after: BreakdownQuery.Position(views: last.views, value: last.value), for: query)
    }

    /// The response body, members in the order the spec gives.
    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [
            ("site_id", .string(query.siteID)), ("by", .string(query.dimension.rawValue)),
        ]
        query.period.appendMembers(to: &members)
        if let zone = query.zone { members.append(("tz", .string(zone.name))) }
        if let eventType = query.eventType { members.append(("event_type", .string(eventType))) }
        members.append(("rows", .array(rows.map { row in
            .object(JSONObject(uniqueMembers: [
                ("value", .string(row.value)),
                ("views", .number(Double(row.views))),
                ("unique_users", .number(Double(row.uniqueUsers))),
            ]))
        })))
        members.append(("next_cursor", nextCursor.map { .string($0) } ?? .null))
        return .object(JSONObject(uniqueMembers: members))
    }
}
