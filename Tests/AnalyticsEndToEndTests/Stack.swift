import AnalyticsBlockingIO
import AnalyticsCore
import AnalyticsPostgres
import AnalyticsRedis
import AnalyticsSpec
import AnalyticsTestSupport
import AsyncHTTPClient
import Foundation
import JSONSchemaValidation
import NIOCore
import NIOHTTP1

/// What the end-to-end suite needs from scripts/test: the binary to run and the script that starts and
/// stops the servers.
enum EndToEnd {
    static var binary: String? { ProcessInfo.processInfo.environment["ANALYTICS_BINARY"] }
    static var servers: String? { ProcessInfo.processInfo.environment["ANALYTICS_SERVERS"] }
    static var enabled: Bool { Integration.enabled && binary != nil && servers != nil }

    /// Where the processes of the suite write their logs: `ANALYTICS_E2E_LOGS`, or a new folder in the
    /// temporary directory.
    static let logFolder: String = {
        let folder = ProcessInfo.processInfo.environment["ANALYTICS_E2E_LOGS"]
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("analytics-e2e-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        return folder
    }()

    /// Runs `scripts/servers <action>`.
    static func servers(_ action: String) async throws {
        let status = try await ChildProcess.run(servers!, [action], log: logFolder + "/servers.log")
        guard status == 0 else { throw Failure("scripts/servers \(action) exited \(status)") }
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The real processes of one test, on their own ports, Redis key prefix and Postgres schema.
final class Stack: @unchecked Sendable {
    let prefix = "e2e\(UInt32.random(in: 0...UInt32.max))"
    let ingestPort: Int
    let reportPort: Int
    let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(
        timeout: .init(connect: .seconds(2), read: .seconds(30)),
        connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: 64)))
    private(set) var processes: [String: ChildProcess] = [:]

    init() {
        ingestPort = unusedPort()
        reportPort = unusedPort(excluding: [ingestPort])
    }

    var environment: [String: String] {
        var environment = ProcessInfo.processInfo.environment
        environment["REDIS_KEY_PREFIX"] = prefix
        environment["DATABASE_SCHEMA"] = prefix
        environment["HOST"] = "127.0.0.1"
        environment["VISIBILITY_TIMEOUT"] = "3"
        environment["LOG_LEVEL"] = "warning"
        // Several workers run at once: each takes a free port for its metrics.
        environment["METRICS_PORT"] = "0"
        // The write path's suites run as the seed did: anyone reads, any site is taken. The access suite
        // turns both on for its own processes.
        environment["REPORTING_AUTH"] = "off"
        environment["INGEST_SITES"] = "any"
        environment["RATE_LIMIT_SITE"] = "off"
        environment["RATE_LIMIT_ADDRESS"] = "off"
        return environment
    }

    /// Starts `analytics <role>`; `name` identifies it for `kill`.
    func start(_ name: String, _ arguments: [String], extra: [String: String] = [:]) throws {
        processes[name] = try ChildProcess(
            EndToEnd.binary!, arguments, environment: environment.merging(extra) { $1 },
            log: "\(EndToEnd.logFolder)/\(prefix)-\(name).log")
    }

    func startIngestion(extra: [String: String] = [:]) throws { try start("ingest", ["ingest", "--port", String(ingestPort)], extra: extra) }
    func startReporting(extra: [String: String] = [:]) throws {
        try start("report", ["report", "--port", String(reportPort), "--migrate"], extra: extra)
    }

    /// Runs `analytics <arguments>` (a `sites` or `tokens` command) to its end on this stack's schema;
    /// returns its exit status and what it printed (standard output and error together).
    func cli(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let log = "\(EndToEnd.logFolder)/\(prefix)-cli-\(UInt32.random(in: 0...UInt32.max)).log"
        let status = try await ChildProcess(EndToEnd.binary!, arguments, environment: environment, log: log).wait()
        return (status, (try? String(contentsOfFile: log, encoding: .utf8)) ?? "")
    }
    func startWorker(_ name: String) throws { try start(name, ["worker", "--migrate"], extra: ["WORKER_NAME": "\(prefix)-\(name)"]) }

    /// Sends `signal` (SIGKILL by default) to a process and waits for it to end.
    func kill(_ name: String, signal: Int32 = SIGKILL) async {
        guard let process = processes.removeValue(forKey: name) else { return }
        process.signal(signal)
        _ = try? await process.wait()
    }

    /// Blocking libpq calls run on this pool's thread, as in the product.
    let database = BlockingConnectionPool(size: 1) { try PostgresConnection(url: Integration.databaseURL!) }

    func stop() async {
        for name in Array(processes.keys) { await kill(name, signal: SIGTERM) }
        try? await http.shutdown()
        let schema = prefix
        _ = try? await database.withConnection { try $0.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
        await database.shutdown()
    }

    // MARK: HTTP

    func post(_ path: String, _ body: String, port: Int? = nil, headers: [(String, String)] = []) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port ?? ingestPort)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    func get(_ uri: String, port: Int? = nil, token: String? = nil) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port ?? reportPort)\(uri)")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        let response = try await http.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: bytes))
    }

    /// Waits until both APIs that are running answer `/readyz` with 200; fails at once, with the end of
    /// its log, when one of the processes has already ended.
    func waitUntilReady(seconds: Int = 60) async throws {
        let ports = [("ingest", ingestPort), ("report", reportPort)].filter { processes[$0.0] != nil }
        for (name, port) in ports {
            try await waitFor("\(name) on port \(port) ready", seconds: seconds) {
                if let ended = self.processes.first(where: { $0.value.hasEnded }) {
                    throw Failure("\(ended.key) ended before it was ready: \(self.logTail(ended.key))")
                }
                return (try? await self.get("/readyz", port: port).status) == 200
            }
        }
    }

    private func logTail(_ name: String) -> String {
        let text = (try? String(contentsOfFile: "\(EndToEnd.logFolder)/\(prefix)-\(name).log", encoding: .utf8)) ?? ""
        return String(text.suffix(2_000))
    }

    func totalViews(site: String) async throws -> Int {
        let answer = try await get("/stats?site_id=\(site)")
        return Int(try JSONParser.parse(answer.body)["total_views"]?.numberValue ?? -1)
    }

    /// Rows in this test's events table, and how many distinct event IDs they hold.
    func storedRows() async throws -> (rows: Int, distinct: Int) {
        let schema = prefix
        return try await database.withConnection { connection in
            let row = try connection.query("SELECT count(*), count(DISTINCT event_id) FROM \(schema).events").rows[0]
            return (Int(row[0]!)!, Int(row[1]!)!)
        }
    }

    func queueDepth() async throws -> QueueDepth {
        var configuration = RedisQueueConfiguration()
        configuration.keyPrefix = prefix
        configuration.connections = 1
        let queue = try RedisStreamQueue(url: Integration.redisURL!, configuration: configuration)
        defer { Task { await queue.shutdown() } }
        return try await queue.depth()
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on, below the kernel's range of local ports for
/// outgoing connections: a port in that range can be taken by any client connection before the
/// process under test binds it.
func unusedPort(excluding excluded: Set<Int> = []) -> Int {
    let range = (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_local_port_range", encoding: .utf8))?
        .split(whereSeparator: \.isWhitespace).compactMap { Int($0) }
    let firstEphemeral = range?.first ?? 32_768
    let candidates = firstEphemeral > 11_000 ? 10_000..<firstEphemeral : 1_024..<max(firstEphemeral, 1_025)
    while true {
        let port = Int.random(in: candidates)
        if !excluded.contains(port) && canBind(port) { return port }
    }
}

private func canBind(_ port: Int) -> Bool {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { return false }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}

/// Polls `condition` every 50 ms until it holds, or fails after `seconds`.
func waitFor(_ what: String, seconds: Int, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw Failure("timed out after \(seconds) s waiting for \(what)")
}

/// `count` events for `site`, each with its own event_id, as JSON bodies.
func eventBodies(_ count: Int, site: String) -> [String] {
    (0..<count).map { index in
        let id = EventID(high: UInt64.random(in: 0...UInt64.max), low: UInt64(index))
        return #"{"event_id":"\#(id)","site_id":"\#(site)","event_type":"view","path":"/p\#(index % 50)","user_id":"u\#(index % 997)","timestamp":"2025-11-14T10:00:00Z"}"#
    }
}
