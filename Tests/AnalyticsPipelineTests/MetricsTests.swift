import AnalyticsCore
@testable import AnalyticsHTTP
import AnalyticsInMemory
import AnalyticsSpec
import AnalyticsTestSupport
import AnalyticsWorker
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import Testing

/// `GET /metrics`: Prometheus's text format, what each instrument counts, and the token.
struct MetricsTests {
    /// One sample line of the text format: `name{labels} value`.
    struct Sample: Equatable {
        let name: String
        let labels: [String: String]
        let value: Double
    }

    /// Parses the text format strictly enough to catch a malformed exposition: every line a comment
    /// (`# HELP`/`# TYPE`) or a sample; every family typed once and helped before its type; every sample
    /// of a typed family. scripts/test parses it again with prometheus_client, Prometheus's own parser.
    static func parse(_ text: String) throws -> [Sample] {
        var typed: [String: String] = [:]
        var helped: Set<String> = []
        var samples: [Sample] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
            if line.hasPrefix("# HELP ") {
                let name = String(line.dropFirst(7).prefix { $0 != " " })
                #expect(!helped.contains(name), "HELP twice for \(name)")
                helped.insert(name)
                continue
            }
            if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                try #require(parts.count == 2, "\(line)")
                let name = String(parts[0])
                #expect(typed[name] == nil, "TYPE twice for \(name)")
                #expect(helped.contains(name), "no HELP before the TYPE of \(name)")
                #expect(["counter", "gauge", "histogram"].contains(parts[1]), "\(line)")
                typed[name] = String(parts[1])
                continue
            }
            try #require(!line.hasPrefix("#"), "unknown comment: \(line)")
            let nameEnd = line.firstIndex { $0 == "{" || $0 == " " }!
            let name = String(line[..<nameEnd])
            var labels: [String: String] = [:]
            var rest = line[nameEnd...]
            if rest.first == "{" {
                let close = try #require(rest.firstIndex(of: "}"), "\(line)")
                for pair in rest[rest.index(after: rest.startIndex)..<close].split(separator: ",") {
                    let equals = try #require(pair.firstIndex(of: "="), "\(line)")
                    let value = pair[pair.index(after: equals)...]
                    try #require(value.first == "\"" && value.last == "\"", "\(line)")
                    labels[String(pair[..<equals])] = String(value.dropFirst().dropLast())
                }
                rest = rest[rest.index(after: close)...]
            }
            let value = try #require(Double(rest.trimmingPrefix(" ").replacingOccurrences(of: "+Inf", with: "inf")), "\(line)")
            let family = ["_bucket", "_sum", "_count"].first { name.hasSuffix($0) && typed[String(name.dropLast($0.count))] == "histogram" }
                .map { String(name.dropLast($0.count)) } ?? name
            #expect(typed[family] != nil, "a sample of an untyped family: \(line)")
            #expect(name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == ":") }, "\(name)")
            samples.append(Sample(name: name, labels: labels, value: value))
        }
        return samples
    }

    static func events(_ count: Int) -> [Event] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { index in
            Event(id: EventID.version7(unixMilliseconds: 1_763_114_400_000, using: &generator), siteID: "demo",
                  eventType: "view", path: "/\(index)", userID: nil, timestamp: 1_763_114_400_000_000)
        }
    }

    static func value(_ samples: [Sample], _ name: String, _ labels: [String: String] = [:]) -> Double? {
        samples.first { $0.name == name && $0.labels == labels }?.value
    }

    static func scrape(_ client: some TestClientProtocol, headers: HTTPFields = [:]) async throws -> [Sample] {
        try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "text/plain; version=0.0.4; charset=utf-8")
            return try parse(String(buffer: response.body))
        }
    }

    @Test(arguments: [TestingSetup.router, .live])
    func ingestionCountsRequestsByRoutePatternMethodAndStatus(_ setup: TestingSetup) async throws {
        let pipeline = Pipeline()
        let exporter = PrometheusExporter()
        let app = Applications.ingestion(
            queue: pipeline.queue, clock: pipeline.clock, metrics: exporter.factory, exporter: exporter, logger: Logger(label: "test"))
        try await app.test(setup) { client in
            for _ in 0..<3 {
                try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: seedEvent)) {
                    #expect($0.status == .ok)
                }
            }
            try await client.execute(uri: "/event", method: .post, headers: jsonHeaders, body: ByteBuffer(string: "{")) {
                #expect($0.status == .badRequest)
            }
            try await client.execute(uri: "/event", method: .delete) { #expect($0.status == .methodNotAllowed) }
            // Paths and methods outside the routes would be a series each, without end: they count together.
            for (index, method) in ["PROPFIND", "MKCOL", "COPY", "MOVE", "LOCK"].enumerated() {
                try await client.execute(uri: "/nothing/\(index)", method: .get) { #expect($0.status == .notFound) }
                try await client.execute(uri: "/event", method: HTTPRequest.Method(method)!) {
                    #expect($0.status == .methodNotAllowed)
                }
            }
            let samples = try await Self.scrape(client)
            func requests(_ route: String, _ method: String, _ status: String) -> Double? {
                Self.value(samples, "analytics_http_requests_total", ["route": route, "method": method, "status": status])
            }
            #expect(requests("/event", "POST", "200") == 3)
            #expect(requests("/event", "POST", "400") == 1)
            #expect(requests("/event", "DELETE", "405") == 1)
            #expect(requests("unmatched", "GET", "404") == 5)
            // Only the methods the routes name are routed: the others reach no route (their 405 comes from the error layer).
            #expect(requests("unmatched", "other", "405") == 5)
            let routes = Set(samples.filter { $0.name == "analytics_http_requests_total" }.compactMap { $0.labels["route"] })
            #expect(routes == ["/event", "unmatched"], "the scrape itself is counted once it is answered")
            #expect(Self.value(samples, "analytics_http_request_duration_seconds_count", ["route": "/event", "method": "POST"]) == 4)
            let within = Self.value(samples, "analytics_http_request_duration_seconds_bucket", ["route": "/event", "method": "POST", "le": "10.0"])
            #expect(within == 4)
            #expect(Self.value(samples, "analytics_segment_messages_total", ["type": "track"]) == 0)
            // The next scrape counts the first.
            let again = try await Self.scrape(client)
            #expect(Self.value(again, "analytics_http_requests_total", ["route": "/metrics", "method": "GET", "status": "200"]) == 1)
        }
    }

    @Test func aTokenGuardsTheMetricsWhenSet() async throws {
        let exporter = PrometheusExporter(token: "s3cret-scrape-token")
        let app = Applications.reporting(store: InMemoryStore(), metrics: exporter.factory, exporter: exporter, logger: Logger(label: "test"))
        try await app.test(.router) { client in
            for headers: HTTPFields in [[:], [.authorization: "Bearer wrong"], [.authorization: "Basic czNjcmV0LXNjcmFwZS10b2tlbjo="]] {
                try await client.execute(uri: "/metrics", method: .get, headers: headers) { response in
                    #expect(response.status == .unauthorized)
                    let challenge = headers.isEmpty ? #"Bearer realm="metrics""# : #"Bearer realm="metrics", error="invalid_token""#
                    #expect(response.headers[.wwwAuthenticate] == challenge)
                    let body = String(buffer: response.body)
                    #expect(body.contains(#""error":"#) && !body.contains("s3cret"))
                }
            }
            let samples = try await Self.scrape(client, headers: [.authorization: "Bearer s3cret-scrape-token"])
            #expect(Self.value(samples, "analytics_http_requests_total", ["route": "/metrics", "method": "GET", "status": "401"]) == 3)
        }
    }

    @Test func withoutAnExporterThereIsNoMetricsRoute() async throws {
        try await Pipeline().ingestion().test(.router) { client in
            try await client.execute(uri: "/metrics", method: .get) { #expect($0.status == .notFound) }
        }
    }

    @Test func theWorkerCountsBatchesAndTheirOutcomes() async throws {
        let pipeline = Pipeline()
        let exporter = PrometheusExporter()
        let events = Self.events(5)
        try await pipeline.queue.enqueue(events + [events[0]])
        pipeline.store.reject([events[4].id])
        var configuration = WorkerConfiguration(consumer: "w")
        configuration.reserveWait = .zero
        configuration.maxAttempts = 1
        let worker = EventWorker(
            queue: pipeline.queue, store: MeteredEventStore(pipeline.store, factory: exporter.factory), clock: pipeline.clock,
            configuration: configuration, metrics: exporter.factory, logger: pipeline.logs.logger())
        _ = try await worker.processNextBatch()
        let samples = try Self.parse(String(decoding: await exporter.scrape(), as: UTF8.self))
        #expect(Self.value(samples, "analytics_worker_events_total", ["outcome": "inserted"]) == 4)
        #expect(Self.value(samples, "analytics_worker_events_total", ["outcome": "duplicate"]) == 1)
        #expect(Self.value(samples, "analytics_worker_events_total", ["outcome": "dead_lettered"]) == 1)
        #expect(Self.value(samples, "analytics_worker_batch_size_count") == 1)
        #expect(Self.value(samples, "analytics_worker_batch_size_sum") == 6)
        #expect(Self.value(samples, "analytics_worker_batch_size_bucket", ["le": "1.0"]) == 0)
        #expect(Self.value(samples, "analytics_worker_batch_size_bucket", ["le": "10.0"]) == 1)
        #expect(Self.value(samples, "analytics_worker_batch_duration_seconds_count") == 1)
        // Halving the batch to find the rejected event: each rejected insert is a store error of its class.
        let rejected = try #require(Self.value(samples, "analytics_store_errors_total", ["operation": "insert", "class": "rejected"]))
        let inserts = try #require(Self.value(samples, "analytics_store_duration_seconds_count", ["operation": "insert"]))
        #expect(inserts == Double(pipeline.store.insertCalls), "every insert timed")
        #expect(rejected >= 2 && rejected < inserts, "\(rejected) of \(inserts) inserts rejected")
    }

    @Test func storeErrorsAreCountedByClassAndQueriesTimedByEndpoint() async throws {
        let exporter = PrometheusExporter()
        let failing = FaultInjectingStore(InMemoryStore())
        let store = MeteredEventStore(failing, factory: exporter.factory)
        let app = Applications.reporting(store: store, retryAfter: 1, metrics: exporter.factory, exporter: exporter, logger: Logger(label: "test"))
        try await app.test(.router) { client in
            try await client.execute(uri: "/stats?site_id=demo", method: .get) { #expect($0.status == .ok) }
            try await client.execute(uri: "/stats/timeseries?site_id=demo&from=2025-11-01&to=2025-11-02", method: .get) {
                #expect($0.status == .ok)
            }
            failing.setDown(true)
            try await client.execute(uri: "/stats?site_id=demo", method: .get) { #expect($0.status == .serviceUnavailable) }
            try await client.execute(uri: "/sites", method: .get) { #expect($0.status == .serviceUnavailable) }
            let samples = try await Self.scrape(client)
            #expect(Self.value(samples, "analytics_store_duration_seconds_count", ["operation": "stats"]) == 2)
            #expect(Self.value(samples, "analytics_store_duration_seconds_count", ["operation": "timeseries"]) == 1)
            #expect(Self.value(samples, "analytics_store_errors_total", ["operation": "stats", "class": "unavailable"]) == 1)
            #expect(Self.value(samples, "analytics_store_errors_total", ["operation": "sites", "class": "unavailable"]) == 1)
            #expect(Self.value(samples, "analytics_store_errors_total", ["operation": "stats", "class": "rejected"]) == 0)
            #expect(Self.value(samples, "analytics_http_requests_total", ["route": "/stats", "method": "GET", "status": "503"]) == 1)
        }
    }

    @Test func theQueueIsSampledAtEachScrape() async throws {
        let clock = ManualClock()
        let queue = FaultInjectingQueue(InMemoryQueue(clock: clock))
        let exporter = PrometheusExporter()
        exporter.sampleQueue(queue)
        let events = Self.events(3)
        try await queue.enqueue([events[0]])
        clock.advance(by: .seconds(60))
        try await queue.enqueue(Array(events[1...]))
        clock.advance(by: .seconds(30))
        _ = try await queue.reserve(consumer: "w", max: 1, wait: .zero)
        clock.advance(by: .seconds(10))
        var samples = try Self.parse(String(decoding: await exporter.scrape(), as: UTF8.self))
        #expect(Self.value(samples, "analytics_queue_events", ["state": "ready"]) == 2)
        #expect(Self.value(samples, "analytics_queue_events", ["state": "pending"]) == 1)
        #expect(Self.value(samples, "analytics_queue_events", ["state": "dead"]) == 0)
        #expect(Self.value(samples, "analytics_queue_oldest_event_age_seconds", ["state": "ready"]) == 40)
        #expect(Self.value(samples, "analytics_queue_oldest_event_age_seconds", ["state": "pending"]) == 100)
        #expect(Self.value(samples, "analytics_queue_up") == 1)
        queue.setDown(true)
        samples = try Self.parse(String(decoding: await exporter.scrape(), as: UTF8.self))
        #expect(Self.value(samples, "analytics_queue_up") == 0)
        #expect(Self.value(samples, "analytics_queue_events", ["state": "ready"]) == 2, "the last values stay")
    }

    @Test func theProcessReportsItsOwnFigures() async throws {
        let exporter = PrometheusExporter()
        exporter.sampleProcess()
        let samples = try Self.parse(String(decoding: await exporter.scrape(), as: UTF8.self))
        #expect(Self.value(samples, "process_max_fds").map { $0 > 0 } == true)
        #if os(Linux)
        #expect(Self.value(samples, "process_resident_memory_bytes").map { $0 > 1_000_000 } == true)
        #expect(Self.value(samples, "process_virtual_memory_bytes").map { $0 > 1_000_000 } == true)
        #expect(Self.value(samples, "process_open_fds").map { $0 >= 3 } == true)
        let start = try #require(Self.value(samples, "process_start_time_seconds"))
        let now = Double(SystemClock().now) / 1e6
        #expect(start > now - 86_400 * 30 && start <= now + 1, "started \(now - start) s ago")
        let cpu = try #require(Self.value(samples, "process_cpu_seconds_total"))
        #expect(cpu > 0)
        // Spend a tenth of a second of this process's CPU (however busy the machine is): the counter goes up
        // by at least as much.
        var x: UInt64 = 1
        let began = ContinuousClock.now
        let spent = Self.processCPUSeconds()
        while Self.processCPUSeconds() - spent < 0.15, began.duration(to: .now) < .seconds(20) {
            for _ in 0..<100_000 { x = x &* 6364136223846793005 &+ 1442695040888963407 }
        }
        #expect(x != 0)
        let later = try Self.parse(String(decoding: await exporter.scrape(), as: UTF8.self))
        #expect(try #require(Self.value(later, "process_cpu_seconds_total")) >= cpu + 0.1)
        #endif
    }

    static func processCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// The command name in /proc/self/stat is in parentheses and may hold both, and spaces.
    @Test func procStatIsReadFromAfterTheCommandName() throws {
        let line = "4242 (a) b (c)) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 0 0 20 0 8 0 123456 567890123 4321 18446744073709551615\n"
        let stat = try #require(ProcStat(Array(line.utf8)))
        #expect(stat == ProcStat(userTicks: 250, systemTicks: 75, startTicks: 123456, virtualBytes: 567890123, residentPages: 4321))
        #expect(ProcStat(Array("4242 (x) S 1 2".utf8)) == nil)
        #expect(ProcessMetrics.bootTime(Array("cpu 1 2 3\nbtime 1763114400\nprocesses 9\n".utf8)) == 1763114400)
    }

    /// Every family the process can expose has help, so no `# TYPE` goes out alone, and docs/metrics.md
    /// describes each.
    @Test func everyMetricHasHelpAndIsDocumented() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let docs = try String(contentsOf: root.appendingPathComponent("docs/metrics.md"), encoding: .utf8)
        for name in MetricNames.help.keys.sorted() {
            #expect(docs.contains("`\(name)`"), "docs/metrics.md does not describe \(name)")
        }
        let text = "# TYPE a_total counter\na_total 1\n# TYPE analytics_queue_up gauge\nanalytics_queue_up 1\n"
        #expect(String(decoding: MetricNames.withHelp(Array(text.utf8)), as: UTF8.self) == """
            # TYPE a_total counter
            a_total 1
            # HELP analytics_queue_up \(MetricNames.help["analytics_queue_up"]!)
            # TYPE analytics_queue_up gauge
            analytics_queue_up 1

            """)
    }
}

extension ProcStat {
    init(userTicks: Int, systemTicks: Int, startTicks: Int, virtualBytes: Int, residentPages: Int) {
        self.init(Array("1 (x) S \(Array(repeating: "0", count: 10).joined(separator: " ")) \(userTicks) \(systemTicks) 0 0 0 0 0 0 \(startTicks) \(virtualBytes) \(residentPages)".utf8))!
    }
}
