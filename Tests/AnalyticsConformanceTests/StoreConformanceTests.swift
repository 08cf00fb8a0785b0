import AnalyticsCore
import AnalyticsSpec
import AnalyticsTestSupport
import JSONSchemaValidation
import Testing


/// The behaviour every `EventStore` must have. Runs against the in-memory store always, and against
/// Postgres when ANALYTICS_INTEGRATION=1.
@Suite struct StoreConformanceTests {
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
    func emptyInsertIsANoOp(_ backend: StoreBackend) async throws {
        #expect(try await backend.make().insert([]) == InsertResult(inserted: 0, duplicates: 0))
    }

    /// Every golden scenario's events, stored directly, answer its queries exactly.
    @Test(arguments: StoreBackend.all, Scenario.all)
    func scenarioAnswers(_ backend: StoreBackend, _ scenario: Scenario) async throws {
        let store = try await backend.make()
        _ = try await store.insert(scenario.decodedEvents())
        for expected in scenario.queries where expected.status == 200 {
            let query = try StatsQuery.parse(Scenario.parameters(expected.query)).get()
            let answer = try await store.stats(query)
            #expect(JSONWriter.string(answer.json) == JSONWriter.string(expected.body), "\(scenario.name) ?\(expected.query)")
        }
    }

    @Test(arguments: StoreBackend.all)
    func answersPing(_ backend: StoreBackend) async throws {
        try await backend.make().ping()
    }
}
