import JSONSchemaValidation

/// A validated `GET /stats` query (spec/stats-query.schema.json).
public struct StatsQuery: Sendable, Hashable {
    /// Which days the query covers, in its zone.
    public enum Period: Sendable, Hashable {
        case allTime
        case day(CalendarDate)
        /// Inclusive at both ends.
        case range(from: CalendarDate, to: CalendarDate)

        /// The instants of these days in `zone` (UTC when nil), from the start of the first to the start of
        /// the day after the last; nil for all time.
        public func instants(in zone: ReportingZone?) -> Range<Int64>? {
            days.map { (zone ?? .utc).instants(from: $0.lowerBound, to: $0.upperBound) }
        }

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
    /// The zone of the days, when the query named one (the answer then names it too); UTC otherwise.
    public var zone: ReportingZone?
    /// Count only events of this type; nil counts every type.
    public var eventType: String?
    /// How many top paths to return.
    public var limit: Int

    public init(
        siteID: String, period: Period = .allTime, zone: ReportingZone? = nil, eventType: String? = nil,
        limit: Int = StatsQuery.defaultLimit
    ) {
        self.siteID = siteID
        self.period = period
        self.zone = zone
        self.eventType = eventType
        self.limit = limit
    }

    /// The instants the period covers, in microseconds since the Unix epoch: from the start of the first
    /// day in the zone to the start of the day after the last. Nil for all time.
    public var instants: Range<Int64>? { period.instants(in: zone) }

    /// True when the event is one this query counts.
    public func matches(_ event: Event) -> Bool {
        guard event.siteID.utf8.elementsEqual(siteID.utf8) else { return false }
        if let eventType, !event.eventType.utf8.elementsEqual(eventType.utf8) { return false }
        if let instants { return instants.contains(event.timestamp) }
        return true
    }

    /// Parses query parameters, in the order given. Names the schema does not list are ignored.
    public static func parse(
        _ parameters: [(name: String, value: String)], contract: Contract = .embedded
    ) -> Result<StatsQuery, ContractViolation> {
        var reader = ReportingParameters(
            parameters, known: ["site_id", "date", "from", "to", "tz", "event_type", "limit"], integers: ["limit"],
            schema: contract.statsQuery)
        let zone = reader.zone()
        if let violation = reader.violation { return .failure(violation) }
        return .success(StatsQuery(
            siteID: reader.string("site_id")!,
            period: reader.period,
            zone: zone,
            eventType: reader.string("event_type"),
            limit: reader.integer("limit") ?? defaultLimit
        ))
    }
}
