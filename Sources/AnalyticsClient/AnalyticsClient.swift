public import AnalyticsSpec
public import AsyncHTTPClient
import HTTPTypes
public import Foundation
import JSONSchemaValidation
public import Logging
import OpenAPIAsyncHTTPClient
internal import OpenAPIRuntime
public import ServiceLifecycle

/// Sends events to the ingestion API from Swift: each event is checked against the contract when it is
/// sent (the same validator as the server's), given its `event_id` then (so a retried batch is stored
/// once), buffered, and posted in batches to `POST /events` by the client generated from
/// spec/openapi.yaml. A batch the server cannot take now (503, 429) is retried after its `Retry-After`,
/// others with capped, jittered backoff; a batch it refuses for good (401, 403, 400) is split in halves
/// until the refused events are alone, so that one bad event costs only itself.
///
/// Run it as a `Service` (swift-service-lifecycle): it flushes every `flushInterval`, and everything
/// buffered on graceful shutdown. Without a service group, call `flush()` and `shutdown()` yourself.
public actor AnalyticsClient: Service {
    public nonisolated let configuration: AnalyticsClientConfiguration
    private let client: Client
    private let decoder = EventDecoder()
    private let logger: Logger
    /// Buffered events, oldest first, with the bytes each takes in a batch.
    private var buffer: [(event: AnalyticsSpec.Event, bytes: Int)] = []
    private var flushing: Task<Void, Never>?
    private var closed = false
    /// Set when `shutdown` ran out of time: batches stop retrying and what is left is dropped.
    private var abandoned = false
    /// Events ever buffered, and events settled (sent or dropped), in order: a `flush()` waits until what
    /// was buffered when it was called is settled, not for later events.
    private var buffered_ = 0
    private var settled = 0
    private var waiters: [(target: Int, continuation: CheckedContinuation<Void, Never>)] = []
    /// Events of the batch being sent.
    private var inFlight = 0
    /// Batches given up since the last `flush()` that threw them.
    private var failures: [AnalyticsClientError] = []

    public init(configuration: AnalyticsClientConfiguration, httpClient: HTTPClient = .shared, logger: Logger = Logger(label: "analytics.client")) {
        var configuration = configuration
        configuration.batchSize = min(max(configuration.batchSize, 1), 1000)
        configuration.maximumBatchBytes = min(max(configuration.maximumBatchBytes, 4096), 500 * 1024)
        configuration.maximumAttempts = max(configuration.maximumAttempts, 1)
        self.configuration = configuration
        self.logger = logger
        let timeout = configuration.requestTimeout.components
        client = Client(
            serverURL: configuration.serverURL,
            configuration: Configuration(dateTranscoder: MicrosecondDateTranscoder(), jsonEncodingOptions: [.withoutEscapingSlashes]),
            transport: AsyncHTTPClientTransport(configuration: .init(
                client: httpClient, timeout: .milliseconds(timeout.seconds * 1000 + timeout.attoseconds / 1_000_000_000_000_000))),
            middlewares: configuration.writeKey.map { [WriteKeyMiddleware(writeKey: $0)] } ?? [])
    }

    /// Checks an event against the contract and buffers it; throws every violation
    /// (`ContractViolation`), `bufferFull` or `shutDown`. Returns the event's id.
    @discardableResult
    public func send(
        site: String, type: String, path: String, user: String? = nil, at timestamp: Date = Date(), id: EventID? = nil
    ) throws -> EventID {
        var members: [(key: String, value: JSONValue)] = [
            ("site_id", .string(site)), ("event_type", .string(type)), ("path", .string(path)),
            ("timestamp", .string(RFC3339Formatter.utc(microseconds: Int64((timestamp.timeIntervalSince1970 * 1_000_000).rounded())))),
        ]
        if let user { members.append(("user_id", .string(user))) }
        if let id { members.append(("event_id", .string(id.description))) }
        return try send(json: JSONWriter.bytes(.object(JSONObject(uniqueMembers: members))))
    }

    /// The same for an event already in the contract's JSON form (`POST /event`'s body).
    @discardableResult
    public func send(json: [UInt8]) throws -> EventID {
        guard !closed else { throw AnalyticsClientError.shutDown }
        guard buffer.count < configuration.maximumBuffered else { throw AnalyticsClientError.bufferFull }
        let event = try decoder.decodeEvent(json) {
            var generator = SystemRandomNumberGenerator()
            return EventID.version7(unixMilliseconds: UInt64(max(0, Date().timeIntervalSince1970 * 1000)), using: &generator)
        }.get()
        // Its size in a batch: the codec's JSON (what the generated encoder writes, slashes unescaped) and a comma.
        buffer.append((event, EventCodec.encode(event).utf8.count + 1))
        buffered_ += 1
        if buffer.count >= configuration.batchSize { startFlushing() }
        return event.id
    }

    /// Events buffered and not yet sent.
    public var buffered: Int { buffer.count }

    /// Sends every event buffered before this call (not those sent meanwhile) or drops it, then throws
    /// the first batch given up since the last call, if any (every one is logged and given to `onDrop`).
    public func flush() async throws {
        await settleBuffered()
        if let failure = failures.first {
            failures.removeAll()
            throw failure
        }
    }

    /// Waits until every event buffered before this call is sent or dropped.
    private func settleBuffered() async {
        let target = buffered_
        guard settled < target else { return }
        startFlushing()
        await withCheckedContinuation { continuation in waiters.append((target, continuation)) }
    }

    /// Refuses further events and sends what is buffered, for at most `shutdownTimeout` (less if the
    /// calling task is cancelled); past it the rest is dropped (`shutdownTimedOut`, counting the events
    /// unsent, those of the request in flight, which is cancelled, among them). Throws otherwise the first
    /// batch given up, as `flush()`.
    public func shutdown() async throws {
        closed = true
        let timeout = configuration.shutdownTimeout
        enum Outcome: Sendable { case settled, timedOut, cancelled }
        var dropped = 0
        await withTaskGroup(of: Outcome.self) { group in
            group.addTask { await self.settleBuffered(); return .settled }
            group.addTask {
                do { try await Task.sleep(for: timeout) } catch { return .cancelled }
                return .timedOut
            }
            var settledFirst = false
            for await outcome in group {
                switch outcome {
                case .settled:
                    settledFirst = true
                    group.cancelAll()
                case .timedOut, .cancelled:
                    // Past the deadline, or the caller no longer waits: stop now.
                    if !settledFirst { dropped = abandon() }
                }
            }
        }
        if dropped > 0 { throw AnalyticsClientError.shutdownTimedOut(events: dropped) }
        try await flush()
    }

    /// Stops retrying, cancels the request in flight, drops what is buffered and wakes every waiter;
    /// returns how many events were unsent (the batch in flight among them: it may yet have been stored).
    private func abandon() -> Int {
        abandoned = true
        flushing?.cancel()
        let dropped = buffer.count + inFlight
        buffer.removeAll()
        settled = buffered_
        let ready = waiters
        waiters.removeAll()
        for waiter in ready { waiter.continuation.resume() }
        return dropped
    }

    /// Flushes every `flushInterval` until graceful shutdown (or cancellation), then `shutdown()`.
    public func run() async throws {
        let interval = configuration.flushInterval
        try? await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try await Task.sleep(for: interval)
                try? await self.flush()
            }
        }
        try await shutdown()
    }

    /// Starts the one task that sends batches, oldest first, until the buffer is empty.
    private func startFlushing() {
        guard flushing == nil else { return }
        flushing = Task {
            while let batch = nextBatch() {
                inFlight = batch.count
                await deliver(batch)
                inFlight = 0
                settle(batch.count)
            }
            flushing = nil
        }
    }

    /// Takes the oldest events that fit one request: `batchSize` of them, in `maximumBatchBytes`.
    private func nextBatch() -> [AnalyticsSpec.Event]? {
        guard !buffer.isEmpty else { return nil }
        var count = 0
        var bytes = 2
        while count < buffer.count, count < configuration.batchSize,
            count == 0 || bytes + buffer[count].bytes <= configuration.maximumBatchBytes
        {
            bytes += buffer[count].bytes
            count += 1
        }
        let batch = buffer.prefix(count).map(\.event)
        buffer.removeFirst(count)
        return batch
    }

    private func settle(_ count: Int) {
        // After `abandon`, everything counts as settled already.
        settled = min(settled + count, buffered_)
        let ready = waiters.filter { $0.target <= settled }
        waiters.removeAll { $0.target <= settled }
        for waiter in ready { waiter.continuation.resume() }
    }

    private func drop(_ error: AnalyticsClientError) {
        // After `abandon`, `shutdownTimedOut` has counted them already.
        guard !abandoned else { return }
        logger.error("events dropped", metadata: ["error": "\(error)"])
        failures.append(error)
        configuration.onDrop?(error)
    }

    /// Sends one batch until the server takes it or the attempts run out. A batch refused for good is
    /// split where that can help: by site for a 401 or 403 (write keys, origins and registration are a
    /// site's), in halves for a 400 or 413 (an event the server judges otherwise, a body too large); an
    /// event refused alone, or a batch refused for what no event decides (404, 405, 415), is dropped.
    private func deliver(_ batch: [AnalyticsSpec.Event]) async {
        switch await attempt(batch) {
        case .sent:
            return
        case .refused(let status, let message):
            let sites = Set(batch.map(\.siteID))
            if (status == 401 || status == 403), sites.count > 1, !abandoned {
                logger.debug("a batch was refused; splitting it by site", metadata: ["status": "\(status)", "sites": "\(sites.count)"])
                var order: [String] = []
                var bySite: [String: [AnalyticsSpec.Event]] = [:]
                for event in batch {
                    if bySite[event.siteID] == nil { order.append(event.siteID) }
                    bySite[event.siteID, default: []].append(event)
                }
                for site in order { await deliver(bySite[site]!) }
            } else if (status == 400 || status == 413), batch.count > 1, !abandoned {
                logger.debug("a batch was refused; splitting it", metadata: ["status": "\(status)", "events": "\(batch.count)", "error": "\(message)"])
                await deliver(Array(batch.prefix(batch.count / 2)))
                await deliver(Array(batch.dropFirst(batch.count / 2)))
            } else {
                drop(.rejected(status: status, message: message, events: batch.count))
            }
        case .gaveUp(let attempts, let lastError):
            drop(.gaveUp(attempts: attempts, events: batch.count, lastError: lastError))
        }
    }

    private enum Outcome {
        case sent
        case refused(status: Int, message: String)
        case gaveUp(attempts: Int, lastError: String)
    }

    /// Posts one batch, retrying what may succeed later.
    private func attempt(_ batch: [AnalyticsSpec.Event]) async -> Outcome {
        let body = batch.map { event in
            Components.Schemas.Event(
                site_id: event.siteID, event_type: event.eventType, path: event.path,
                timestamp: Date(timeIntervalSince1970: Double(event.timestamp) / 1_000_000), user_id: event.userID,
                event_id: event.id.description)
        }
        var lastError = ""
        for attempt in 1...configuration.maximumAttempts {
            if abandoned || Task.isCancelled { return .gaveUp(attempts: attempt - 1, lastError: "shut down before it was sent") }
            var retryAfter: Int?
            do {
                switch try await client.ingestEvents(body: .json(body)) {
                case .ok:
                    return .sent
                case .tooManyRequests(let answer):
                    retryAfter = answer.headers.Retry_hyphen_After
                    lastError = "429"
                case .serviceUnavailable(let answer):
                    retryAfter = answer.headers.Retry_hyphen_After
                    lastError = "503"
                case .badRequest(let answer):
                    return .refused(status: 400, message: Self.message(try? answer.body.json))
                case .unauthorized(let answer):
                    return .refused(status: 401, message: Self.message(try? answer.body.json))
                case .forbidden(let answer):
                    return .refused(status: 403, message: Self.message(try? answer.body.json))
                case .contentTooLarge:
                    return .refused(status: 413, message: "the batch is larger than the server takes")
                case .unsupportedMediaType, .methodNotAllowed:
                    return .refused(status: 415, message: "the server refused the request's form")
                case .undocumented(let status, _):
                    guard status >= 500 else { return .refused(status: status, message: "HTTP \(status)") }
                    lastError = "HTTP \(status)"
                }
            } catch {
                // The request may have been taken before the answer was lost: sending it again is safe, as
                // every event carries its id.
                lastError = "\(error)"
            }
            guard attempt < configuration.maximumAttempts else { break }
            let delay = backoff(attempt: attempt, retryAfter: retryAfter)
            logger.debug("retrying a batch", metadata: ["attempt": "\(attempt)", "delay": "\(delay)", "error": "\(lastError)"])
            try? await Task.sleep(for: delay)
        }
        return .gaveUp(attempts: configuration.maximumAttempts, lastError: lastError)
    }

    /// Exponential from `initialDelay`, capped, with jitter over its upper half; never less than the
    /// server's `Retry-After`, itself taken up to 300 s (as Segment's libraries do).
    private nonisolated func backoff(attempt: Int, retryAfter: Int?) -> Duration {
        let exponential = configuration.initialDelay * (1 << min(attempt - 1, 20))
        let capped = min(exponential, configuration.maximumDelay)
        let jittered = capped / 2 + capped / 2 * Double.random(in: 0...1)
        return max(jittered, .seconds(min(max(retryAfter ?? 0, 0), 300)))
    }

    private static func message(_ error: Components.Schemas.ErrorBody?) -> String {
        error?.error ?? "refused"
    }
}

/// Adds the write key to every request as the HTTP Basic user name (the key, a colon, no password).
struct WriteKeyMiddleware: ClientMiddleware {
    let header: String

    init(writeKey: String) {
        header = "Basic " + Data("\(writeKey):".utf8).base64EncodedString()
    }

    func intercept(
        _ request: HTTPRequest, body: HTTPBody?, baseURL: URL, operationID: String,
        next: @Sendable (HTTPRequest, HTTPBody?, URL) async throws -> (HTTPResponse, HTTPBody?)
    ) async throws -> (HTTPResponse, HTTPBody?) {
        var request = request
        request.headerFields[.authorization] = header
        return try await next(request, body, baseURL)
    }
}
