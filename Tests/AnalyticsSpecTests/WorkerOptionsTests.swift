@testable import AnalyticsCLI
import Testing

/// What `analytics worker` makes of its flags.
struct WorkerOptionsTests {
    @Test func concurrencyGivesEachLoopItsOwnConsumerName() throws {
        let options = try WorkerOptions.parse(["--worker-name", "w", "--concurrency", "3", "--batch-size", "200"])
        let loops = options.configurations()
        #expect(loops.map(\.consumer) == ["w", "w#1", "w#2"])
        #expect(loops.allSatisfy { $0.batchSize == 200 })
        #expect(options.configurations(workers: 2).map(\.consumer) == ["w", "w#1", "w#2", "w#3", "w#4", "w#5"])
    }

    @Test func outageAndDeliveryLimitsReachEveryLoop() throws {
        let loops = try WorkerOptions.parse(["--concurrency", "2", "--max-outage", "60", "--max-deliveries", "3"]).configurations()
        #expect(loops.map(\.maxOutage) == [.seconds(60), .seconds(60)])
        #expect(loops.map(\.maxDeliveries) == [3, 3])
        let clamped = try WorkerOptions.parse(["--max-outage=-5", "--max-deliveries", "0"]).configurations()[0]
        #expect(clamped.maxOutage == .seconds(60) && clamped.maxDeliveries == 1)
    }

    /// A flag a removed feature had still parses, so an upgraded deployment's command line still starts.
    @Test func theRetiredKnownUsersFlagIsAccepted() throws {
        let loops = try WorkerOptions.parse(["--known-users", "5000", "--worker-name", "w"]).configurations()
        #expect(loops.map(\.consumer) == ["w", "w#1"])
    }
}
