import AnalyticsClient
import AnalyticsSpec
import AnalyticsTestSupport
import Foundation
import Testing

/// The Swift client against real processes: what it was given arrives exactly once, even when the
/// ingestion process it talks to is killed with `kill -9` and started again while it sends. In the
/// serialized suite, as the other end-to-end tests stop and start the servers.
extension EndToEndTests {
    @Test func theSwiftClientDeliversEveryEventOnceAcrossAnIngestionRestart() async throws {
        try await withStack([.ingestion, .reporting, .worker("w1")]) { stack in
            var configuration = AnalyticsClientConfiguration(serverURL: URL(string: "http://127.0.0.1:\(stack.ingestPort)")!)
            configuration.batchSize = 250
            configuration.initialDelay = .milliseconds(100)
            configuration.maximumAttempts = 20
            let client = AnalyticsClient(configuration: configuration, httpClient: stack.http)
            let total = 10_000
            for index in 0..<total {
                try await client.send(site: "client", type: "Order Completed", path: "/p\(index % 10)", user: "u\(index % 100)")
                if index == total / 2 {
                    // Mid-stream: the process dies, batches in flight lose their answers, and comes back.
                    await stack.kill("ingest")
                    Task {
                        try await Task.sleep(for: .seconds(1))
                        try stack.startIngestion()
                    }
                }
            }
            try await client.shutdown()
            try await waitFor("\(total) events in /stats", seconds: 120) { try await stack.totalViews(site: "client") == total }
            let stored = try await stack.storedRows()
            print("e2e client: sent \(total) through a kill -9 of ingestion; rows \(stored.rows), distinct \(stored.distinct)")
            #expect(stored.rows == total && stored.distinct == total)
            let named = try await stack.get("/stats?site_id=client&event_type=Order+Completed")
            #expect(named.body.contains(#""total_views":\#(total)"#))
        }
    }
}
