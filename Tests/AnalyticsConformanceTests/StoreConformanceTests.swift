import AnalyticsCore
import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing


/// The behaviour every `EventStore` must have. Runs against the in-memory store always, and against
/// Postgres when ANALYTICS_INTEGRATION=1.
@Suite(.removesServerLeftovers) struct StoreConformanceTests {
    @Test(arguments: StoreBackend.all)
    func insertIsIdempotentByEventID(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let events = makeEvents(4, site: "idem")
        #expect(try await store.insert(Array(events[0..<2])) == InsertResult(inserted: 2, duplicates: 0))
        #expect(try await store.insert(events) == InsertResult(inserted: 2, duplicates: 2))
        #expect(try await store.insert([events[3], events[3]]) == InsertResult(inserted: 0, duplicates: 2))
        let fresh = makeEvents(1, site: "idem")[0]
        #expect(try await store.insert([fresh, fresh]) == InsertResult(inserted: 1, duplicates: 1))
        #expect(try await store.stats(StatsQuery(siteID: "idem")).totalViews == 5)
    }

    @Test(arguments: StoreBackend.all)
    func aDuplicateKeepsTheFirstVersion(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let original = makeEvents(1, site: "first")[0]
        var changed = original
        changed.path = "/changed"
        _ = try await store.insert([original])
        _ = try await store.insert([changed])
        #expect(try await store.stats(StatsQuery(siteID: "first")).topPaths.map(\.path) == [original.path])
    }

    @Test(arguments: StoreBackend.all)
    func aDuplicateWithinABatchKeepsTheFirstVersion(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        var batch = Array(makeEvents(20, site: "within").reversed())
        var second = batch[5]
        second.path = "/second"
        second.userID = "someone-else"
        batch.insert(second, at: 9)
        #expect(try await store.insert(batch) == InsertResult(inserted: 20, duplicates: 1))
        let stats = try await store.stats(StatsQuery(siteID: "within", limit: 100))
        #expect(stats.totalViews == 20)
        #expect(stats.uniqueUsers == 7)
        #expect(!stats.topPaths.contains { $0.path == "/second" })
    }

    /// Batches that share events, inserted at once as several workers would insert them, store and count
    /// each event once.
    @Test(arguments: StoreBackend.all)
    func overlappingBatchesInsertedAtOnceCountEachEventOnce(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let events = makeEvents(900, site: "overlap", path: { "/\($0 % 50)" })
        let batches = stride(from: 0, to: 800, by: 100).map { Array(events[$0..<$0 + 200]) }
        let results = try await withThrowingTaskGroup(of: InsertResult.self) { group in
            for batch in batches { group.addTask { try await store.insert(batch) } }
            return try await group.reduce(into: [InsertResult]()) { $0.append($1) }
        }
        #expect(results.map(\.inserted).reduce(0, +) == 900)
        #expect(results.map(\.duplicates).reduce(0, +) == 700)
        let stats = try await store.stats(StatsQuery(siteID: "overlap", limit: 100))
        #expect(stats.totalViews == 900)
        #expect(stats.uniqueUsers == 7)
        #expect(stats.topPaths.count == 50)
        #expect(stats.topPaths.allSatisfy { $0.views == 18 })
    }

    /// `sites()` lists each site with events once, in byte order (capitals first), a site whose events
    /// were all duplicates once, and a site that was only asked about never.
    @Test(arguments: StoreBackend.all)
    func sitesListsEverySiteWithEventsOnceInByteOrder(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        #expect(try await store.sites() == [])
        let first = makeEvents(3, site: "b-site")
        _ = try await store.insert(first + makeEvents(2, site: "shop.example.com") + makeEvents(1, site: "a-site"))
        _ = try await store.insert(first + makeEvents(1, site: "Z-site"))
        _ = try await store.stats(StatsQuery(siteID: "never-written"))
        #expect(try await store.sites() == ["Z-site", "a-site", "b-site", "shop.example.com"])
    }

    @Test(arguments: StoreBackend.all)
    func emptyInsertIsANoOp(_ backend: StoreBackend) async throws {
        #expect(try await backend.make().insert([]) == InsertResult(inserted: 0, duplicates: 0))
    }

    /// Every golden scenario's events, stored directly, answer its queries exactly.
    @Test(arguments: StoreBackend.all, Scenario.all)
    func scenarioAnswers(_ backend: StoreBackend, _ scenario: Scenario) async throws {
        let store = try await backend.make()
        _ = try await store.insert(scenario.decodedEvents())
        for expected in scenario.queries where expected.status == 200 {
            let answer = try await expected.answer(from: store)
            #expect(expected.matches(answer), "\(scenario.name) \(expected.uri): \(JSONWriter.string(answer))")
        }
    }

    /// Text that means something in SQL or in an array literal is stored as it came, over all time and
    /// over a range of days; the user "NULL" is a user, not a missing one.
    @Test(arguments: StoreBackend.all)
    func textIsStoredByteForByte(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let paths = ["/q?a=\"b\"", "/back\\slash\\", "/{brace},comma", "/café/\u{1F389}", "NULL", "/'quote'", " /space "]
        let users: [String?] = ["NULL", "\"", nil, "\\", "{}", "ü", ","]
        var events = makeEvents(paths.count, site: "odd \"site\"")
        for index in events.indices {
            events[index].path = paths[index]
            events[index].userID = users[index]
        }
        #expect(try await store.insert(events) == InsertResult(inserted: paths.count, duplicates: 0))
        let day = events[0].utcDate
        for period in [StatsQuery.Period.allTime, .day(day), .range(from: day, to: day)] {
            let answer = try await store.stats(StatsQuery(siteID: "odd \"site\"", period: period, limit: 100))
            #expect(answer.totalViews == paths.count, "\(period)")
            #expect(answer.uniqueUsers == 6, "\(period)")
            #expect(Set(answer.topPaths.map(\.path)) == Set(paths), "\(period)")
        }
    }

    /// Each event counts on its own UTC day, on either side of midnight, before 1970 and before 2000.
    @Test(arguments: StoreBackend.all)
    func eventsCountOnTheirUTCDay(_ backend: StoreBackend) async throws {
        let store = try await backend.make()
        let instants: [(Int64, CalendarDate)] = [
            (-1, CalendarDate(year: 1969, month: 12, day: 31)),
            (0, CalendarDate(year: 1970, month: 1, day: 1)),
            (946_684_799_999_999, CalendarDate(year: 1999, month: 12, day: 31)),
            (946_684_800_000_000, CalendarDate(year: 2000, month: 1, day: 1)),
            (1_763_164_799_999_999, CalendarDate(year: 2025, month: 11, day: 14)),
        ]
        var events = makeEvents(instants.count, site: "midnight")
        for index in events.indices { events[index].timestamp = instants[index].0 }
        _ = try await store.insert(events)
        for (index, (_, day)) in instants.enumerated() {
            let answer = try await store.stats(StatsQuery(siteID: "midnight", period: .day(day)))
            #expect(answer.totalViews == 1, "\(day)")
            #expect(answer.topPaths.map(\.path) == [events[index].path], "\(day)")
        }
        let all = try await store.stats(StatsQuery(siteID: "midnight", period: .range(from: instants[0].1, to: instants[4].1)))
        #expect(all.totalViews == instants.count)
    }

    @Test(arguments: StoreBackend.all)
    func answersPing(_ backend: StoreBackend) async throws {
        try await backend.make().ping()
    }
}
