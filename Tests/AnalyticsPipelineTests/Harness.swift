import AnalyticsCore
import AnalyticsHTTP
import AnalyticsInMemory
import AnalyticsSpec
import AnalyticsTestSupport
import AnalyticsWorker
import Hummingbird
import HummingbirdTesting
import JSONSchemaValidation
import Logging
import NIOCore
import Testing

/// An in-memory pipeline for one test: queue, store, worker, and both HTTP applications.
struct Pipeline {
    let clock = ManualClock(autoAdvance: true)
    let queue: FaultInjectingQueue
    let store: FaultInjectingStore
    let inMemoryStore = InMemoryStore()
    let logs = LogCapture()

    init(visibilityTimeout: Duration = .seconds(30)) {
        queue = FaultInjectingQueue(InMemoryQueue(clock: clock, visibilityTimeout: visibilityTimeout))
        store = FaultInjectingStore(inMemoryStore)
    }

    func ingestion(_ configuration: IngestionConfiguration = IngestionConfiguration()) -> some ApplicationProtocol {
        Applications.ingestion(queue: queue, clock: clock, configuration: configuration, logger: Logger(label: "test"))
    }

    func reporting() -> some ApplicationProtocol {
        Applications.reporting(store: store, logger: Logger(label: "test"))
    }

    func worker(_ name: String = "w1", configure: (inout WorkerConfiguration) -> Void = { _ in }) -> EventWorker {
        var configuration = WorkerConfiguration(consumer: name)
        configuration.reserveWait = .zero
        configure(&configuration)
        return EventWorker(queue: queue, store: store, clock: clock, configuration: configuration, logger: logs.logger())
    }

    /// Runs a worker until the queue has nothing ready.
    @discardableResult
    func drain(with worker: EventWorker? = nil) async throws -> [BatchOutcome] {
        let worker = worker ?? self.worker()
        var outcomes: [BatchOutcome] = []
        while let outcome = try await worker.processNextBatch() { outcomes.append(outcome) }
        return outcomes
    }

    func queued() async throws -> [Event] {
        try await queue.reserve(consumer: "inspector", max: 100_000, wait: .zero).map(\.event)
    }
}

let jsonHeaders: HTTPFields = [.contentType: "application/json"]
let seedEvent = #"{"site_id":"demo","event_type":"view","path":"/","user_id":"u1","timestamp":"2025-11-14T10:00:00Z"}"#

func event(path: String = "/", extra: String = "") -> String {
    #"{"site_id":"demo","event_type":"view","path":"\#(path)","timestamp":"2025-11-14T10:00:00Z"\#(extra)}"#
}

extension TestResponse {
    var text: String { String(buffer: body) }
    var json: JSONValue { (try? JSONParser.parse(text)) ?? .null }
    /// The (path, keyword) pairs of an error body.
    var violations: [String] {
        json["details"]?.arrayValue?.map { "\($0["path"]!.stringValue!) \($0["keyword"]!.stringValue!)" } ?? []
    }
}

/// Both ways HummingbirdTesting runs an application: in memory, and behind a live server.
let setups: [TestingSetup] = [.router, .live]

extension TestingSetup: @retroactive CustomTestStringConvertible {
    public var testDescription: String { "\(self)".contains("live") ? "live" : "router" }
}
