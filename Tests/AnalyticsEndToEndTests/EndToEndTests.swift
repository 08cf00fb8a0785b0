import AnalyticsCore
import AnalyticsTestSupport
import Foundation
import Testing

/// The real processes against real Redis and Postgres. Serialized: the outage tests stop the servers.
/// scripts/test runs them with ANALYTICS_INTEGRATION=1, ANALYTICS_BINARY and ANALYTICS_SERVERS set.
@Suite(.serialized, .enabled(if: EndToEnd.enabled, "needs ANALYTICS_INTEGRATION=1, ANALYTICS_BINARY and ANALYTICS_SERVERS"))
struct EndToEndTests {
    @Test func theSeedWalkthroughGivesTheSeedsOutputs() async throws {
        try await withStack([.ingestion, .reporting, .worker("w1")]) { stack in
            let accepted = try await stack.post("/event", #"{"site_id":"demo","event_type":"view","path":"/","user_id":"u1","timestamp":"2025-11-14T10:00:00Z"}"#)
            #expect(accepted.status == 200 && accepted.body == #"{"status":"ok"}"#)
            let expected = #"{"site_id":"demo","date":null,"total_views":1,"unique_users":1,"top_paths":[{"path":"/","views":1}]}"#
            try await waitFor("the seed's stats", seconds: 20) { try await stack.get("/stats?site_id=demo").body == expected }
            #expect(try await stack.get("/stats?site_id=demo").body == expected)
        }
    }

    @Test func fiftyThousandConcurrentEventsAllArriveExactlyOnce() async throws {
        try await withStack([.ingestion, .reporting, .worker("w1")]) { stack in
            let bodies = eventBodies(50_000, site: "load")
            let statuses = try await send(bodies, through: stack, concurrency: 64)
            print("e2e 50k: sent \(bodies.count), 200s \(statuses[200] ?? 0), other \(statuses.filter { $0.key != 200 })")
            #expect(statuses[200] == 50_000)
            try await waitFor("50,000 events in /stats", seconds: 120) { try await stack.totalViews(site: "load") == 50_000 }
            let stored = try await stack.storedRows()
            print("e2e 50k: rows \(stored.rows), distinct event_ids \(stored.distinct), /stats total 50000")
            #expect(stored.rows == 50_000 && stored.distinct == 50_000)
        }
    }

    @Test func aWorkerKilledMidStreamLosesAndDuplicatesNothing() async throws {
        try await withStack([.ingestion, .reporting]) { stack in
            // Queue everything first, so the worker is mid-stream when it dies.
            let bodies = eventBodies(30_000, site: "kill")
            let batches = stride(from: 0, to: bodies.count, by: 500).map { "[" + bodies[$0..<min($0 + 500, bodies.count)].joined(separator: ",") + "]" }
            var accepted = 0
            for batch in batches where try await stack.post("/events", batch).status == 200 { accepted += 500 }
            #expect(accepted == 30_000)
            try stack.startWorker("doomed")
            try await waitFor("the doomed worker to store some events", seconds: 60) { try await stack.storedRows().rows >= 2_000 }
            await stack.kill("doomed")
            let atKill = try await stack.storedRows().rows
            try stack.startWorker("rescuer")
            try await waitFor("every event stored", seconds: 120) { try await stack.storedRows().rows == accepted }
            try await waitFor("the queue to drain", seconds: 30) { try await stack.queueDepth().backlog == 0 }
            let stored = try await stack.storedRows()
            let total = try await stack.totalViews(site: "kill")
            print("e2e kill -9: sent \(bodies.count), 200s \(accepted), rows at kill \(atKill), rows \(stored.rows), distinct \(stored.distinct), /stats \(total)")
            #expect(atKill < accepted, "the worker was killed before it finished")
            #expect(stored.rows == accepted && stored.distinct == accepted)
            #expect(total == accepted, "reporting counts every event once")
        }
    }

    @Test func whileRedisIsDownIngestionAnswers503AndRecoversByItself() async throws {
        try await withStack([.ingestion, .reporting, .worker("w1")], restoring: "start-redis") { stack in
            let before = eventBodies(100, site: "redis-outage")
            for body in before { #expect(try await stack.post("/event", body).status == 200) }

            try await EndToEnd.servers("stop-redis")
            var during: [Int: Int] = [:]
            for body in eventBodies(200, site: "redis-outage-lost") {
                during[try await stack.post("/event", body).status, default: 0] += 1
            }
            print("e2e redis down: statuses \(during)")
            #expect(during[200] == nil, "no 200 while Redis is down")
            #expect(during[503] == 200)

            try await EndToEnd.servers("start-redis")
            let restarted = ContinuousClock.now
            let after = eventBodies(100, site: "redis-outage")
            try await waitFor("ingestion to accept again", seconds: 30) { try await stack.post("/event", after[0]).status == 200 }
            print("e2e redis back: ingestion answered 200 again after \(ContinuousClock.now - restarted)")
            for body in after.dropFirst() { #expect(try await stack.post("/event", body).status == 200) }
            try await waitFor("every accepted event stored", seconds: 60) { try await stack.totalViews(site: "redis-outage") == 200 }
            #expect(try await stack.totalViews(site: "redis-outage-lost") == 0)
        }
    }

    @Test func whilePostgresIsDownIngestionAcceptsAndEverythingLandsAfterwards() async throws {
        try await withStack([.ingestion, .reporting, .worker("w1")], restoring: "start-postgres") { stack in
            try await waitFor("migrations", seconds: 30) { (try? await stack.storedRows()) != nil }

            try await EndToEnd.servers("stop-postgres")
            let bodies = eventBodies(5_000, site: "pg-outage")
            let statuses = try await send(bodies, through: stack, concurrency: 16)
            let depth = try await stack.queueDepth()
            print("e2e postgres down: sent \(bodies.count), statuses \(statuses), queue backlog \(depth.backlog)")
            #expect(statuses[200] == 5_000)
            #expect(depth.backlog == 5_000, "everything waits in the queue")

            try await EndToEnd.servers("start-postgres")
            try await waitFor("every event stored", seconds: 120) { (try? await stack.storedRows().rows) == 5_000 }
            try await waitFor("the queue to drain", seconds: 30) { try await stack.queueDepth().backlog == 0 }
            let stored = try await stack.storedRows()
            print("e2e postgres back: rows \(stored.rows), distinct \(stored.distinct)")
            #expect(stored.distinct == 5_000)
            // The reporting process recovers without a restart: its first query after the outage succeeds.
            #expect(try await stack.totalViews(site: "pg-outage") == 5_000)
        }
    }
}

/// What `withStack` starts.
enum Role {
    case ingestion
    case reporting
    case worker(String)
}

/// Starts the given processes, waits until they are ready, runs `body`, and stops them whatever happens.
/// `restoring` names a `scripts/servers` action that puts a stopped server back when `body` fails.
func withStack(_ roles: [Role], restoring: String? = nil, _ body: (Stack) async throws -> Void) async throws {
    let stack = Stack()
    do {
        for role in roles {
            switch role {
            case .ingestion: try stack.startIngestion()
            case .reporting: try stack.startReporting()
            case .worker(let name): try stack.startWorker(name)
            }
        }
        try await stack.waitUntilReady()
        try await body(stack)
    } catch {
        if let restoring { try? await EndToEnd.servers(restoring) }
        await stack.stop()
        throw error
    }
    await stack.stop()
}

/// Posts every body to `POST /event`, `concurrency` at a time; returns how many got each status.
func send(_ bodies: [String], through stack: Stack, concurrency: Int) async throws -> [Int: Int] {
    try await withThrowingTaskGroup(of: [Int: Int].self) { group in
        for lane in 0..<concurrency {
            group.addTask {
                var statuses: [Int: Int] = [:]
                for index in stride(from: lane, to: bodies.count, by: concurrency) {
                    let status = (try? await stack.post("/event", bodies[index]).status) ?? -1
                    statuses[status, default: 0] += 1
                }
                return statuses
            }
        }
        var total: [Int: Int] = [:]
        for try await partial in group { total.merge(partial, uniquingKeysWith: +) }
        return total
    }
}
