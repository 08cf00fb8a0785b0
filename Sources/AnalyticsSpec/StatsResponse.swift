import JSONSchemaValidation

/// The answer to a `StatsQuery` (spec/stats-response.schema.json).
public struct StatsResponse: Sendable, Hashable {
    public struct PathViews: Sendable, Hashable {
        public var path: String
        public var views: Int

        public init(path: String, views: Int) {
            self.path = path
            self.views = views
        }
    }

    public var query: StatsQuery
    public var totalViews: Int
    public var uniqueUsers: Int
    /// At most `query.limit` paths, by views descending, then path ascending.
    public var topPaths: [PathViews]

    public init(query: StatsQuery, totalViews: Int, uniqueUsers: Int, topPaths: [PathViews]) {
        self.query = query
        self.totalViews = totalViews
        self.uniqueUsers = uniqueUsers
        self.topPaths = topPaths
    }

    /// Orders path counts as `top_paths` requires and keeps the first `limit`. Paths compare by their
    /// UTF-8 bytes, as PostgreSQL's "C" collation does, not by Swift's canonical-equivalence order.
    public static func topPaths(_ counts: some Sequence<(path: String, views: Int)>, limit: Int) -> [PathViews] {
        counts.sorted { $0.views != $1.views ? $0.views > $1.views : $0.path.utf8.lexicographicallyPrecedes($1.path.utf8) }
            .prefix(limit)
            .map { PathViews(path: $0.path, views: $0.views) }
    }

    /// The response body, members in the order the spec gives.
    public var json: JSONValue {
        var members: [(key: String, value: JSONValue)] = [("site_id", .string(query.siteID))]
        query.period.appendMembers(to: &members)
        if let zone = query.zone { members.append(("tz", .string(zone.name))) }
        if let eventType = query.eventType { members.append(("event_type", .string(eventType))) }
        members.append(("total_views", .number(Double(totalViews))))
        members.append(("unique_users", .number(Double(uniqueUsers))))
        members.append(("top_paths", .array(topPaths.map {
            .object(JSONObject(uniqueMembers: [("path", .string($0.path)), ("views", .number(Double($0.views)))]))
        })))
        return .object(JSONObject(uniqueMembers: members))
    }
}

extension StatsQuery.Period {
    /// `date` (the day or null), then `from` and `to` for a range: the members every reporting answer
    /// with a period starts with.
    func appendMembers(to members: inout [(key: String, value: JSONValue)]) {
        switch self {
        case .allTime:
            members.append(("date", .null))
        case .day(let day):
            members.append(("date", .string(day.description)))
        case .range(let from, let to):
            members.append(("date", .null))
            members.append(("from", .string(from.description)))
            members.append(("to", .string(to.description)))
        }
    }
}
