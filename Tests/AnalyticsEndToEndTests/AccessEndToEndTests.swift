import Foundation
import Testing

/// Tokens, registered sites, origins and write keys, through the real CLI and real processes: part of
/// the serialized end-to-end suite, whose outage tests stop the servers.
extension EndToEndTests {
    @Test func tokensSitesOriginsAndWriteKeysHoldAcrossProcesses() async throws {
        let stack = Stack()
        do {
            try await access(stack)
        } catch {
            await stack.stop()
            throw error
        }
        await stack.stop()
    }

    private func access(_ stack: Stack) async throws {
        #expect(try await stack.cli(["migrate"]).status == 0)
        #expect(try await stack.cli(["sites", "add", "open"]).status == 0)
        #expect(try await stack.cli(["sites", "add", "shop", "--origin", "https://shop.example"]).status == 0)
        #expect(try await stack.cli(["sites", "add", "server"]).status == 0)
        let key = try #require(try await stack.cli(["sites", "write-key", "server"]).output.split(separator: "\n").first { $0.hasPrefix("wk_") })
        let created = try await stack.cli(["tokens", "create", "--site", "open", "--site", "server", "--name", "e2e"])
        let token = try #require(created.output.split(separator: "\n").first { $0.hasPrefix("rt_") }.map(String.init))
        #expect(!(try await stack.cli(["tokens", "list"]).output.contains(token)), "a token is shown once, never listed")

        let secure = ["REPORTING_AUTH": "required", "INGEST_SITES": "registered"]
        try stack.startIngestion(extra: secure)
        try stack.startReporting(extra: secure)
        let secondPort = unusedPort(excluding: [stack.ingestPort, stack.reportPort])
        try stack.start("report2", ["report", "--port", String(secondPort)], extra: secure)
        try stack.startWorker("w1")
        try await stack.waitUntilReady()
        try await waitFor("the second reporting process ready", seconds: 30) { (try? await stack.get("/readyz", port: secondPort).status) == 200 }

        // Ingestion: registered sites only, a batch refused whole with each offending index.
        let event = { (site: String) in #"{"site_id":"\#(site)","event_type":"view","path":"/","user_id":"u1","timestamp":"2025-11-14T10:00:00Z"}"# }
        #expect(try await stack.post("/event", event("open")).status == 200)
        let unknown = try await stack.post("/event", event("elsewhere"))
        #expect(unknown.status == 403 && unknown.body.contains(#""path":"/site_id""#))
        let batch = try await stack.post("/events", "[\(event("open")),\(event("elsewhere")),\(event("open")),\(event("nowhere"))]")
        #expect(batch.status == 403)
        #expect(batch.body.contains(#""path":"/1/site_id""#) && batch.body.contains(#""path":"/3/site_id""#) && !batch.body.contains("/0/"))
        #expect(try await stack.post("/events", "[\(event("open")),\(event("open"))]").status == 200)
        // Origins: a listed one is taken and named in the CORS answer; another is refused.
        #expect(try await stack.post("/event", event("shop"), headers: [("Origin", "https://shop.example")]).status == 200)
        #expect(try await stack.post("/event", event("shop"), headers: [("Origin", "https://evil.example")]).status == 403)
        // A write key: required from server-side senders, as HTTP Basic user name.
        let basic = { (user: String) in "Basic " + Data("\(user):".utf8).base64EncodedString() }
        #expect(try await stack.post("/event", event("server")).status == 401)
        #expect(try await stack.post("/event", event("server"), headers: [("Authorization", basic("wk_00000000000000000000000000000000"))]).status == 401)
        #expect(try await stack.post("/event", event("server"), headers: [("Authorization", basic(String(key)))]).status == 200)

        // Reporting: 401 without a token or with a wrong one, 403 for a site it does not read, 200 otherwise.
        #expect(try await stack.get("/stats?site_id=open").status == 401)
        #expect(try await stack.get("/stats?site_id=open", token: "rt_000000000000_00000000000000000000000000000000").status == 401)
        #expect(try await stack.get("/stats?site_id=shop", token: token).status == 403)
        try await waitFor("the events stored and read with the token", seconds: 30) {
            try await stack.get("/stats?site_id=open", token: token).body.contains(#""total_views":3"#)
        }
        #expect(try await stack.get("/stats/breakdown?site_id=server&by=path", token: token).status == 200)
        #expect(try await stack.get("/stats?site_id=open", port: secondPort, token: token).status == 200)

        // Revoked by the CLI, the token stops working on both reporting processes within 5 seconds.
        let id = String(token.dropFirst(3).prefix(12))
        #expect(try await stack.cli(["tokens", "revoke", id]).status == 0)
        let revoked = ContinuousClock.now
        for port in [stack.reportPort, secondPort] {
            try await waitFor("the revoked token refused on port \(port)", seconds: 5) {
                try await stack.get("/stats?site_id=open", port: port, token: token).status == 401
            }
        }
        print("e2e access: a revoked token refused by both reporting processes after \(ContinuousClock.now - revoked)")
        #expect(ContinuousClock.now - revoked < .seconds(5))
    }
}

extension EndToEndTests {
    /// Two ingestion processes on one Redis share one site's bucket: together they take its burst and what
    /// refills meanwhile, and refuse the rest with 429; every event taken is stored once.
    @Test func twoIngestionProcessesShareOneRateLimit() async throws {
        try await withStack([.reporting, .worker("w1")]) { stack in
            let limits = ["RATE_LIMIT_SITE": "2/60", "RATE_LIMIT_ADDRESS": "off"]
            try stack.startIngestion(extra: limits)
            let secondPort = unusedPort(excluding: [stack.ingestPort, stack.reportPort])
            try stack.start("ingest2", ["ingest", "--port", String(secondPort)], extra: limits)
            try await stack.waitUntilReady()
            try await waitFor("the second ingestion process ready", seconds: 30) { (try? await stack.get("/readyz", port: secondPort).status) == 200 }
            let bodies = eventBodies(240, site: "limited")
            let started = ContinuousClock.now
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, body) in bodies.enumerated() {
                    group.addTask { try await stack.post("/event", body, port: index % 2 == 0 ? stack.ingestPort : secondPort).status }
                }
                return try await group.reduce(into: [Int: Int]()) { $0[$1, default: 0] += 1 }
            }
            let elapsed = ContinuousClock.now - started
            let taken = statuses[200] ?? 0
            print("e2e shared limit: \(statuses) in \(elapsed)")
            // 60 at once, plus 2 a second of what the sending took, rounded up.
            let refilled = Int((Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * 2) + 1
            #expect(taken >= 60 && taken <= 60 + refilled, "\(taken) taken in \(elapsed)")
            #expect(statuses[429] == 240 - taken)
            try await waitFor("the taken events stored", seconds: 30) { try await stack.storedRows().rows == taken }
            #expect(try await stack.storedRows().distinct == taken)
        }
    }
}
