import AnalyticsCore
import AnalyticsSpec
import AnalyticsTestSupport
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing

@Suite struct ReportingTests {
    @Test(arguments: setups)
    func answersStatsAndTheSeedsMissingSiteError(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        _ = try await pipeline.store.insert(Scenario.all.first { $0.name == "seed-walkthrough.json" }!.decodedEvents())
        try await pipeline.reporting().test(setup) { client in
            try await client.execute(uri: "/stats?site_id=demo", method: .get) { response in
                #expect(response.status == .ok)
                #expect(response.text == #"{"site_id":"demo","date":null,"total_views":1,"unique_users":1,"top_paths":[{"path":"/","views":1}]}"#)
                #expect(Contract.embedded.statsResponse.validate(response.json).isEmpty)
            }
            try await client.execute(uri: "/stats", method: .get) { response in
                #expect(response.status == .badRequest)
                #expect(response.text == #"{"error":"site_id required","details":[{"path":"/site_id","keyword":"required","message":"is required"}]}"#)
            }
        }
    }

    @Test(arguments: setups)
    func answers503WithRetryAfterWhileTheStoreIsDown(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        pipeline.store.setDown(true)
        try await pipeline.reporting().test(setup) { client in
            try await client.execute(uri: "/stats?site_id=demo", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                #expect(Contract.embedded.error.validate(response.json).isEmpty)
            }
            try await client.execute(uri: "/readyz", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                // Which check failed, never why: the store's error text stays in the log.
                #expect(response.json["checks"]?["store"] == "unreachable")
                #expect(!response.text.contains("injected outage"))
            }
            pipeline.store.setDown(false)
            try await client.execute(uri: "/readyz", method: .get) { #expect($0.status == .ok) }
        }
    }

    @Test(arguments: setups)
    func otherMethodsGet405(_ setup: TestingSetup) async throws {
        try await Pipeline().reporting().test(setup) { client in
            try await client.execute(uri: "/stats?site_id=demo", method: .post) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.allow] == "GET, HEAD")
            }
            try await client.execute(uri: "/event", method: .post) { #expect($0.status == .notFound) }
        }
    }
}
