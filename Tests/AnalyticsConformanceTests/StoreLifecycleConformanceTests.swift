import AnalyticsCore
import AnalyticsInMemory
import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing

/// Idempotency per site whatever the timestamp, erasure of one user, and retention by whole months, on every
/// store: after each, every answer must be the one a store holding only the remaining events gives (an
/// `InMemoryStore`, which scans them), whatever the store had cached before.
@Suite(.removesServerLeftovers) struct StoreLifecycleConformanceTests {
    static let sites = ["shop", "blog"]
    static let types = ["view", "click"]
    /// 2024-01-01T00:00:00Z.
    static let january2024: Int64 = 1_704_067_200_000_000

    /// Events over about five months from December 2023, with some on the last and first microsecond of a
    /// month, one before 2000 and one after 2099 (the partitions of their own).
    static func events(using random: inout some RandomNumberGenerator) -> [Event] {
        var generator = SystemRandomNumberGenerator()
        var instants = (0..<500).map { _ in january2024 - 31 * 86_400_000_000 + Int64.random(in: 0..<(150 * 86_400_000_000), using: &random) }
        let february = UTCMonth(year: 2024, month: 2)!.start
        let march = UTCMonth(year: 2024, month: 3)!.start
        instants += [february - 1, february, march - 1, march, 946_684_799_999_999, 4_102_444_800_000_000 + 1]
        return instants.enumerated().map { index, instant in
            Event(
                id: EventID.version7(unixMilliseconds: 1_763_114_400_000, using: &generator), siteID: sites[index % 2],
                eventType: types.randomElement(using: &random)!, path: "/\(Int.random(in: 0..<30, using: &random))",
                userID: Int.random(in: 0..<5, using: &random) == 0 ? nil : "u\(Int.random(in: 0..<12, using: &random))", timestamp: instant)
        }
    }

    /// Queries every site over the whole span, so that a store that caches (the Postgres store's indexes)
    /// holds what it answered before the change.
    static func prime(_ store: any EventStore) async throws {
        for site in sites + ["nobody"] {
            _ = try await store.stats(StatsQuery(siteID: site))
            _ = try await store.stats(StatsQuery(siteID: site, zone: ReportingZone(named: "Europe/Berlin")))
        }
    }

    static func compare(_ store: any EventStore, holding remaining: [Event], using random: inout some RandomNumberGenerator) async throws {
        let reference = InMemoryStore()
        _ = try await reference.insert(remaining)
        let firstDay = Int((january2024 / 86_400_000_000)) - 40
        try await ReportingComparison(sites: sites, types: types, days: firstDay..<(firstDay + 170))
            .run(40, store: store, reference: reference, using: &random)
        for site in sites {
            let all = StatsQuery(siteID: site, limit: 100)
            #expect(try await store.stats(all) == reference.stats(all), "\(site), all time")
        }
        #expect(try await store.sites().filter { sites.contains($0) } == reference.sites())
    }

    @Test(arguments: StoreBackend.all)
    func idsAreUniquePerSiteWhateverTheTimestamp(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let event = makeEvents(1, site: "ids")[0]
        _ = try await store.insert([event])
        // A resend whose timestamp was corrected (even into another month and year): the same event.
        var corrected = event
        corrected.timestamp = event.timestamp - 400 * 86_400_000_000
        #expect(try await store.insert([corrected]) == InsertResult(inserted: 0, duplicates: 1))
        // The same id on another site is another site's event.
        var elsewhere = event
        elsewhere.siteID = "ids-elsewhere"
        #expect(try await store.insert([elsewhere, corrected]) == InsertResult(inserted: 1, duplicates: 1))
        #expect(try await store.stats(StatsQuery(siteID: "ids")).totalViews == 1)
        #expect(try await store.stats(StatsQuery(siteID: "ids-elsewhere")).totalViews == 1)
        let year = CalendarDate(daysSinceEpoch: Int(corrected.timestamp / 86_400_000_000))
        #expect(try await store.stats(StatsQuery(siteID: "ids", period: .day(year))).totalViews == 0)
    }

    @Test(arguments: StoreBackend.all)
    func eraseTakesOneUsersEventsOutOfEveryAnswer(_ backend: StoreBackend) async throws {
        var random = SeededGenerator(seed: 2511)
        let store = try await backend.make()
        let events = Self.events(using: &random)
        _ = try await store.insert(events)
        try await Self.prime(store)
        let isErased = { (event: Event) in event.siteID == "shop" && event.userID == "u3" }
        let erased = events.filter(isErased)
        #expect(erased.count > 5)
        #expect(try await store.erase(site: "shop", user: "u3") == erased.count)
        try await Self.compare(store, holding: events.filter { !isErased($0) }, using: &random)
        // Again: nothing left to erase. The other site's u3 is another person.
        #expect(try await store.erase(site: "shop", user: "u3") == 0)
        #expect(try await store.erase(site: "nobody", user: "u3") == 0)
        #expect(events.contains { $0.siteID == "blog" && $0.userID == "u3" })
        // An erased event sent again (an SDK's retry) stays erased; a new event of the user counts.
        let new = makeEvents(1, site: "shop").map { var event = $0; event.userID = "u3"; return event }
        #expect(try await store.insert([erased[0], new[0]]) == InsertResult(inserted: 1, duplicates: 1))
        try await Self.compare(store, holding: events.filter { !isErased($0) } + new, using: &random)
    }

    @Test(arguments: StoreBackend.all)
    func retentionDropsWholeMonthsBeforeTheFirstKept(_ backend: StoreBackend) async throws {
        var random = SeededGenerator(seed: 2512)
        let store = try await backend.make()
        let events = Self.events(using: &random)
        _ = try await store.insert(events)
        // An erased user's ids stay taken until their month goes.
        let erased = events.filter { $0.siteID == "blog" && $0.userID == "u5" }
        _ = try await store.erase(site: "blog", user: "u5")
        try await Self.prime(store)
        let march = UTCMonth(year: 2024, month: 3)!
        let dropped = events.filter { $0.timestamp < march.start && !($0.siteID == "blog" && $0.userID == "u5") }
        let outcome = try await store.dropEvents(before: march)
        #expect(outcome.events == dropped.count)
        #expect(outcome.months == Set(dropped.map { UTCMonth(containing: $0.timestamp) }).sorted())
        #expect(outcome.months.first == UTCMonth(year: 1999, month: 12))
        #expect(outcome.sites == ["blog", "shop"])
        var remaining = events.filter { $0.timestamp >= march.start && !($0.siteID == "blog" && $0.userID == "u5") }
        try await Self.compare(store, holding: remaining, using: &random)
        // Again: nothing more goes.
        #expect(try await store.dropEvents(before: march) == RetentionOutcome(events: 0, sites: [], months: []))
        // From now on an event before the first month kept is expired, not stored (a late resend of a dropped
        // event, or of an erased one whose month went); a kept one, and a kept erased one, are duplicates;
        // a new one in a kept month is stored.
        let late = try #require(dropped.first { $0.timestamp >= Self.january2024 })
        let kept = try #require(remaining.first)
        let keptErased = try #require(erased.first { $0.timestamp >= march.start })
        let goneErased = try #require(erased.first { $0.timestamp < march.start })
        var fresh = makeEvents(2, site: "shop")
        fresh[0].timestamp = march.start - 1
        fresh[1].timestamp = march.start
        #expect(try await store.insert([late, kept, keptErased, goneErased] + fresh) == InsertResult(inserted: 1, duplicates: 2, expired: 3))
        remaining.append(fresh[1])
        try await Self.compare(store, holding: remaining, using: &random)
        // Retention moved back (a longer --keep): older events are taken again, in months made again.
        #expect(try await store.dropEvents(before: UTCMonth(year: 2024, month: 1)!).events == 0)
        #expect(try await store.insert([late, fresh[0]]) == InsertResult(inserted: 2, duplicates: 0))
        try await Self.compare(store, holding: remaining + [late, fresh[0]], using: &random)
    }

    @Test func retentionPolicyCountsTheCurrentMonth() throws {
        let now = UTCMonth(year: 2026, month: 11)!.start + 5 * 86_400_000_000
        #expect(RetentionPolicy("13mo")?.firstMonthKept(now: now) == UTCMonth(year: 2025, month: 11))
        #expect(RetentionPolicy("1mo")?.firstMonthKept(now: now) == UTCMonth(year: 2026, month: 11))
        #expect(RetentionPolicy("2y")?.firstMonthKept(now: now) == UTCMonth(year: 2024, month: 12))
        for bad in ["0mo", "13", "-1mo", "mo", "13 mo", "1.5y", ""] { #expect(RetentionPolicy(bad) == nil, "\(bad)") }
        #expect(UTCMonth(containing: -1) == UTCMonth(year: 1969, month: 12))
        #expect(UTCMonth(containing: 951_782_400_000_000) == UTCMonth(year: 2000, month: 2), "2000-02-29")
        #expect(UTCMonth(year: 2024, month: 3)!.start == 1_709_251_200_000_000)
        #expect(UTCMonth(year: 1, month: 1)!.start == -62_135_596_800_000_000)
        #expect("\(UTCMonth(year: 987, month: 4)!)" == "0987-04")
    }
}
