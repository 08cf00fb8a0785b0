import AnalyticsCore
import AnalyticsInMemory
@testable import AnalyticsReadModel
import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing

/// The read model's aggregates answer exactly what a scan of the same events answers, for random events
/// over two years' turns, several zones' clock changes and both forms of "é", arriving in batches that
/// repeat events.
@Suite struct ReadModelConsistencyTests {
    @Test func aggregatesEqualAScanForRandomQueries() async throws {
        var random = SeededGenerator(seed: 20_261_130)
        let sites = ["alpha", "beta"]
        let types = ["view", "click", "signup:completed"]
        let paths = (0..<40).map { "/page/\($0)" } + ["/", "/B", "/a", "/caf\u{E9}", "/cafe\u{301}"]
        let users: [String?] = (0..<300).map { "user-\($0)" } + ["caf\u{E9}", "cafe\u{301}", nil, nil, nil]
        // 2024-12-01 to 2026-01-31: a year's turn at each end, every 2025 clock change in between.
        let firstDay = CalendarDate(year: 2024, month: 12, day: 1).daysSinceEpoch
        let lastDay = CalendarDate(year: 2026, month: 1, day: 31).daysSinceEpoch
        var events: [Event] = []
        for _ in 0..<6_000 {
            let microseconds = Int64(Int.random(in: firstDay...lastDay, using: &random)) * 86_400_000_000
                + Int64.random(in: 0..<86_400_000_000, using: &random)
            events.append(Event(
                id: EventID(high: random.next(), low: random.next()), siteID: sites.randomElement(using: &random)!,
                eventType: types.randomElement(using: &random)!, path: paths.randomElement(using: &random)!,
                userID: users.randomElement(using: &random)!, timestamp: microseconds))
        }
        let store = ReadModelStore()
        let reference = InMemoryStore()
        // In batches, some events twice, with queries between them: zones prepared early must take the
        // events that come after.
        let comparison = ReportingComparison(sites: sites, types: types, days: (firstDay - 3)..<(lastDay + 3))
        for batch in stride(from: 0, to: events.count, by: 3_000).map({ Array(events[$0..<min($0 + 3_000, events.count)]) }) {
            let repeated = batch + batch.prefix(100)
            #expect(try await store.insert(repeated) == reference.insert(repeated))
            try await comparison.run(10, store: store, reference: reference, using: &random)
        }
        try await comparison.run(80, store: store, reference: reference, using: &random)
    }

    /// Breakdowns over up to `Recency.window` days count users from each day's gaps to the same user's
    /// previous day with the path. Events arrive as live traffic does (in time order, in small batches, a
    /// few late by a day and fewer by up to three), then as a backfill (any day, one at a time, then in
    /// large batches), by users who come back after a day, a week and longer than the window; after each batch, every path of ranges from 1 to 62 days, ending on the newest day
    /// and on random ones, is compared with a scan, with and without an event type, in zones whose days
    /// are not UTC's.
    @Test func breakdownsOfRecentDaysFollowLiveLateAndBackfilledEvents() async throws {
        var random = SeededGenerator(seed: 62)
        let firstDay = CalendarDate(year: 2025, month: 1, day: 1).daysSinceEpoch
        let dayCount = 150
        let paths = ["/", "/pricing", "/blog", "/docs/a", "/docs/b", "/caf\u{E9}"]
        let types = ["view", "click"]
        func event(day: Int, index: Int, using random: inout SeededGenerator) -> Event {
            Event(
                id: EventID(high: 62, low: UInt64(index)), siteID: "recent", eventType: types[Int.random(in: 0..<5, using: &random) == 0 ? 1 : 0],
                path: paths[min(Int.random(in: 0..<8, using: &random), paths.count - 1)],
                userID: Int.random(in: 0..<20, using: &random) == 0 ? nil : "user-\(Int.random(in: 0..<40, using: &random))",
                timestamp: Int64(firstDay + day) * 86_400_000_000 + Int64.random(in: 0..<86_400_000_000, using: &random))
        }
        var live: [Event] = []
        for index in 0..<8_000 {
            // In time order, 1.5% late by a day (a refresh then changes the two newest days), 3% by two
            // or three (an older day, whose new pairs are searched for).
            let late = switch Int.random(in: 0..<1_000, using: &random) {
            case 0..<15: 1
            case 15..<45: Int.random(in: 2...3, using: &random)
            default: 0
            }
            live.append(event(day: max(index * 70 / 8_000 - late, 0), index: index, using: &random))
        }
        let backfill = (0..<1_200).map { index in event(day: Int.random(in: 0..<dayCount, using: &random), index: 10_000 + index, using: &random) }
        let store = ReadModelStore()
        let reference = InMemoryStore()
        let zones = [nil, ReportingZone(named: "Asia/Kathmandu")!, ReportingZone(named: "America/St_Johns")!]
        var newest = 0
        // Several refreshes a day, as a site's busy day has.
        // Then stragglers of any day one at a time (each day's new pairs searched for), then the rest of
        // the backfill in large batches (the window's runs walked).
        var batches: [(events: [Event], queries: Int)] = stride(from: 0, to: live.count, by: 30).map { (Array(live[$0..<min($0 + 30, live.count)]), 3) }
        batches += (0..<300).map { ([backfill[$0]], $0 % 10 == 9 ? 3 : 0) }
        batches += stride(from: 300, to: backfill.count, by: 300).map { (Array(backfill[$0..<min($0 + 300, backfill.count)]), 3) }
        var compared = 0
        for (batch, queries) in batches {
            #expect(try await store.insert(batch) == reference.insert(batch))
            newest = max(newest, batch.map { Int(floorDivide($0.timestamp, 86_400_000_000)) - firstDay }.max()!)
            for _ in 0..<queries {
                // Short ranges ending on the newest day as often as any: what the newest days' gaps decide.
                let end = Bool.random(using: &random) ? newest : Int.random(in: 0..<dayCount, using: &random)
                let length = Bool.random(using: &random) ? Int.random(in: 1...4, using: &random) : Int.random(in: 1...Recency.window, using: &random)
                let query = BreakdownQuery(
                    siteID: "recent", dimension: .path,
                    period: .range(from: CalendarDate(daysSinceEpoch: firstDay + end - length + 1), to: CalendarDate(daysSinceEpoch: firstDay + end)),
                    zone: zones.randomElement(using: &random)!, eventType: Bool.random(using: &random) ? "click" : nil, limit: 100)
                let (answer, expected) = (try await store.breakdown(query), try await reference.breakdown(query))
                #expect(answer == expected, "\(query)")
                compared += answer.rows.count
            }
        }
        #expect(compared > 2_000)
    }

    /// A late event on an older day of the window, then the same user and path on the newest day in a
    /// later batch: the newest day's pair finds the late day in `RecentUsers` (built before it), not
    /// the user's earlier day, so the user counts once over a range holding both.
    @Test func aLateDayBeforeTheNewestIsSeenByLaterPairs() async throws {
        let first = CalendarDate(year: 2025, month: 3, day: 1).daysSinceEpoch
        var sequence: UInt64 = 0
        func event(_ day: Int, _ user: String, _ path: String = "/") -> Event {
            sequence += 1
            return Event(id: EventID(high: 9, low: sequence), siteID: "late", eventType: "view", path: path, userID: user,
                         timestamp: Int64(first + day) * 86_400_000_000 + 3_600_000_000)
        }
        let store = ReadModelStore()
        let reference = InMemoryStore()
        let query = BreakdownQuery(
            siteID: "late", dimension: .path,
            period: .range(from: CalendarDate(daysSinceEpoch: first + 6), to: CalendarDate(daysSinceEpoch: first + 10)), zone: nil, eventType: nil, limit: 10)
        // Enough other pairs around the late day that adding it is a search, not a walk of the window.
        let others = (0...10).flatMap { day in (0..<250).map { event(day, "other-\(day)-\($0)", "/other") } }
        let batches = [
            [event(0, "u")] + (1...9).map { event($0, "other-\($0)") } + others,  // the user's earlier day
            [event(10, "other-10")],  // a new newest day: its RecentUsers
            [event(7, "u")],  // late, on an older day of the window
            [event(10, "u")],  // the newest day's pair, whose previous day is the late one
        ]
        for batch in batches {
            #expect(try await store.insert(batch) == reference.insert(batch))
            let (answer, expected) = (try await store.breakdown(query), try await reference.breakdown(query))
            #expect(answer == expected)
        }
        #expect(try await store.breakdown(query).rows.first { $0.value == "/" }?.uniqueUsers == 6)
    }

    /// The count of gaps above a threshold, sixteen lanes at a time with the lanes added up every 255
    /// rounds, equals one gap at a time for runs of every length around those steps.
    @Test func gapsAboveAThresholdCountLikeOneByOne() {
        var random = SeededGenerator(seed: 255)
        for length in [0, 1, 15, 16, 17, 255 * 16 - 1, 255 * 16, 255 * 16 + 1, 255 * 16 + 17, 20_000] {
            let gaps = (0..<length).map { _ in [Recency.none, 1, 2, 29, 30, 31, 61, 62, 0].randomElement(using: &random)! }
            for threshold: UInt8 in [0, 1, 29, 30, 61, 254] {
                let counted = gaps.withUnsafeBufferPointer { Recency.count($0, above: threshold) }
                #expect(counted == gaps.filter { $0 > threshold }.count, "\(length) gaps above \(threshold)")
            }
        }
    }

    /// Lord Howe Island goes from +11:00 to +10:30 on 2025-04-06: that day's hourly buckets start on UTC
    /// hours and its last one, half an hour long, ends on a half hour. The hour aggregates hold whole UTC
    /// hours, so that bucket must not take the next half hour's events.
    @Test func hoursEndingOnAHalfHour() async throws {
        let zone = try #require(ReportingZone(named: "Australia/Lord_Howe"))
        let start = zone.startOfDay(CalendarDate(year: 2025, month: 4, day: 5))
        let events = (0..<400).map { index in
            Event(id: EventID(high: 7, low: UInt64(index)), siteID: "isle", eventType: index % 3 == 0 ? "click" : "view",
                  path: "/", userID: "user-\(index % 37)", timestamp: start + Int64(index) * 900_000_000)
        }
        let store = ReadModelStore()
        let reference = InMemoryStore()
        #expect(try await store.insert(events) == reference.insert(events))
        for day in 5...7 {
            for eventType in [nil, "click"] {
                let date = CalendarDate(year: 2025, month: 4, day: day)
                let query = try #require(TimeseriesQuery(siteID: "isle", from: date, to: date, interval: .hour, zone: zone, eventType: eventType))
                #expect(try await store.timeseries(query) == reference.timeseries(query), "2025-04-0\(day), \(eventType ?? "every type")")
            }
        }
    }
}
