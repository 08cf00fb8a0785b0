import AnalyticsCore
import AnalyticsHTTP
import AnalyticsInMemory
import AnalyticsTestSupport
import Hummingbird
import HummingbirdTesting
import Logging
import Testing

/// A client that goes away mid-body is the client's doing: logged at debug, not as an error.
@Suite struct AbortedRequestTests {
    @Test func aClientThatClosesMidBodyIsLoggedAtDebugAndNotAsAnError() async throws {
        let logs = LogCapture()
        let queue = InMemoryQueue(clock: ManualClock(autoAdvance: true))
        try await Applications.ingestion(queue: queue, logger: logs.logger()).test(.live) { client in
            let port = try #require(client.port)
            // Declares 100 bytes and sends 1; no answer can come, so after a second the client gives up and closes.
            let head = "POST /event HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
            _ = try await RawHTTP.exchange(port: port, send: head, timeoutSeconds: 1)
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline,
                  !logs.recorded.contains(where: { $0.message == "request aborted" || $0.level >= .error }) {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        let lines = logs.recorded
        let errors = lines.filter { $0.level >= .error }.map { "\($0.message) \($0.metadata)" }
        #expect(errors.isEmpty, "\(errors)")
        let aborted = lines.first { $0.message == "request aborted" }
        #expect(aborted?.level == .debug)
        #expect(aborted?.metadata["path"] == "/event")
        #expect(try await queue.depth().backlog == 0)
    }
}
