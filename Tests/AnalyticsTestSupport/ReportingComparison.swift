import AnalyticsCore
import AnalyticsSpec
import JSONSchemaValidation
import Testing

/// Random reporting queries of every endpoint, answered by a store under test and by a reference store
/// holding the same events, compared exactly: `/stats`, time series of every interval, and breakdowns
/// walked page by page through their cursors, in several zones, with and without an event type.
public struct ReportingComparison {
    public let sites: [String]
    public let types: [String]
    /// Days since the epoch the random ranges start from.
    public let days: Range<Int>
    public static let zones = ["UTC", "Europe/Berlin", "America/St_Johns", "Asia/Kathmandu", "Pacific/Kiritimati", "America/Los_Angeles"]
        .map { ReportingZone(named: $0)! }

    public init(sites: [String], types: [String], days: Range<Int>) {
        self.sites = sites
        self.types = types
        self.days = days
    }

    public func run(
        _ count: Int, store: any EventStore, reference: any EventStore, using random: inout some RandomNumberGenerator,
        sourceLocation: SourceLocation = #_sourceLocation
    ) async throws {
        for _ in 0..<count {
            let start = Int.random(in: days, using: &random)
            let period: StatsQuery.Period
            switch Int.random(in: 0..<3, using: &random) {
            case 0: period = .allTime
            case 1: period = .day(CalendarDate(daysSinceEpoch: start))
            default: period = .range(from: CalendarDate(daysSinceEpoch: start), to: CalendarDate(daysSinceEpoch: start + Int.random(in: 0..<120, using: &random)))
            }
            let site = (sites + ["nobody"]).randomElement(using: &random)!
            let eventType = Bool.random(using: &random) ? (types + ["never"]).randomElement(using: &random) : nil
            let zone = Bool.random(using: &random) ? Self.zones.randomElement(using: &random) : nil

            let stats = StatsQuery(siteID: site, period: period, zone: zone, eventType: eventType, limit: Int.random(in: 1...100, using: &random))
            #expect(try await store.stats(stats) == reference.stats(stats), "\(stats)", sourceLocation: sourceLocation)

            let interval = TimeseriesQuery.Interval.allCases.randomElement(using: &random)!
            let length = interval == .hour ? Int.random(in: 0..<3, using: &random) : Int.random(in: 0..<150, using: &random)
            let series = try #require(TimeseriesQuery(
                siteID: site, from: CalendarDate(daysSinceEpoch: start), to: CalendarDate(daysSinceEpoch: start + length),
                interval: interval, zone: zone ?? .utc, eventType: eventType))
            #expect(try await store.timeseries(series) == reference.timeseries(series), "\(series)", sourceLocation: sourceLocation)

            var breakdown = BreakdownQuery(
                siteID: site, dimension: Bool.random(using: &random) ? .path : .eventType, period: period, zone: zone,
                eventType: eventType, limit: Int.random(in: 1...30, using: &random))
            var pages = 0
            while pages < 200 {
                let page = try await store.breakdown(breakdown)
                #expect(JSONWriter.string(page.json) == JSONWriter.string(try await reference.breakdown(breakdown).json), "\(breakdown)", sourceLocation: sourceLocation)
                pages += 1
                guard let cursor = page.nextCursor else { break }
                var parameters = [("site_id", site), ("by", breakdown.dimension.rawValue), ("limit", String(breakdown.limit)), ("cursor", cursor)]
                if let eventType { parameters.append(("event_type", eventType)) }
                if let zone { parameters.append(("tz", zone.name)) }
                switch period {
                case .allTime: break
                case .day(let day): parameters.append(("date", day.description))
                case .range(let from, let to): parameters += [("from", from.description), ("to", to.description)]
                }
                breakdown = try BreakdownQuery.parse(parameters).get()
            }
            #expect(pages < 200, sourceLocation: sourceLocation)
        }
    }
}
