import JSONSchemaValidation

/// A validated `GET /stats/timeseries` query (spec/timeseries-query.schema.json), with its buckets cut.
public struct TimeseriesQuery: Sendable, Hashable {
    public enum Interval: String, Sendable, Hashable, CaseIterable {
        case hour, day, week, month
    }

    /// Most buckets one answer holds.
    public static let maximumPoints = 1000

    public var siteID: String
    public var from: CalendarDate
    public var to: CalendarDate
    public var interval: Interval
    public var zone: ReportingZone
    /// Count only events of this type; nil counts every type.
    public var eventType: String?
    /// Where each bucket starts, in microseconds since the Unix epoch, ascending; the last bucket ends at
    /// `end`.
    public let bucketStarts: [Int64]
    /// The start of the day after `to`.
    public let end: Int64

    /// Nil when the range holds more than `maximumPoints` buckets.
    public init?(siteID: String, from: CalendarDate, to: CalendarDate, interval: Interval = .day, zone: ReportingZone = .utc, eventType: String? = nil) {
        self.siteID = siteID
        self.from = from
        self.to = to
        self.interval = interval
        self.zone = zone
        self.eventType = eventType
        guard zone.bucketCount(of: interval, from: from, to: to) <= Self.maximumPoints else { return nil }
        end = zone.instants(from: from, to: to).upperBound
        bucketStarts = zone.bucketStarts(of: interval, from: from, to: to)
    }

    /// The instants the query covers.
    public var instants: Range<Int64> { bucketStarts[0]..<end }

    /// The bucket an instant falls in, or nil outside the range.
    public func bucket(of instant: Int64) -> Int? {
        guard instants.contains(instant) else { return nil }
        // The last start not after the instant.
        var low = 0
        var high = bucketStarts.count
        while high - low > 1 {
            let middle = (low + high) / 2
            if bucketStarts[middle] <= instant { low = middle } else { high = middle }
        }
        return low
    }

    /// Parses query parameters, in the order given. Names the schema does not list are ignored.
    public static func parse(
        _ parameters: [(name: String, value: String)], contract: Contract = .embedded
    ) -> Result<TimeseriesQuery, ContractViolation> {
        var reader = ReportingParameters(
            parameters, known: ["site_id", "from", "to", "interval", "tz", "event_type"], integers: [],
            schema: contract.timeseriesQuery)
        let zone = reader.zone()
        if let violation = reader.violation { return .failure(violation) }
        let interval = reader.string("interval").flatMap(Interval.init(rawValue:)) ?? .day
        guard let query = TimeseriesQuery(
            siteID: reader.string("site_id")!, from: reader.day("from")!, to: reader.day("to")!, interval: interval,
            zone: zone ?? .utc, eventType: reader.string("event_type"))
        else {
            let count = (zone ?? .utc).bucketCount(of: interval, from: reader.day("from")!, to: reader.day("to")!)
            reader.report("interval", keyword: "points", message: "the range holds \(count) buckets of \(interval.article) \(interval.rawValue); at most \(maximumPoints)")
            return .failure(reader.violation!)
        }
        return .success(query)
    }
}

extension TimeseriesQuery.Interval {
    var article: String { self == .hour ? "an" : "a" }
}

/// The answer to a `TimeseriesQuery` (spec/timeseries-response.schema.json).
public struct TimeseriesResponse: Sendable, Hashable {
    public struct Point: Sendable, Hashable {
        public var views: Int
        public var uniqueUsers: Int

        public init(views: Int, uniqueUsers: Int) {
            self.views = views
            self.uniqueUsers = uniqueUsers
        }
    }

    public var query: TimeseriesQuery
    /// One per bucket of the query, in order.
    public var points: [Point]

    public init(query: TimeseriesQuery, points: [Point]) {
        precondition(points.count == query.bucketStarts.count, "one point per bucket")
        self.query = query
        self.points = points
    }

    /// The response body, members in the order the spec gives.
    public var json: JSONValue {
        let zone = query.zone
        return .object(JSONObject(uniqueMembers: [
            ("site_id", .string(query.siteID)),
            ("interval", .string(query.interval.rawValue)),
            ("tz", .string(zone.name)),
            ("from", .string(query.from.description)),
            ("to", .string(query.to.description)),
            ("event_type", query.eventType.map { .string($0) } ?? .null),
            ("points", .array(zip(query.bucketStarts, points).map { start, point in
                .object(JSONObject(uniqueMembers: [
                    ("start", .string(zone.localTimestamp(atMicroseconds: start))),
                    ("views", .number(Double(point.views))),
                    ("unique_users", .number(Double(point.uniqueUsers))),
                ]))
            })),
        ]))
    }
}
