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
/// others with capped, jittered backoff.
///
/// Run it as a `Service` (swift-service-lifecycle): it flushes every `flushInterval`, and everything
/// buffered on graceful shutdown. Without a service group, call `flush()` and `shutdown()` yourself.
public actor AnalyticsClient: Service {
    public nonisolated let configuration: AnalyticsClientConfiguration
    private let client: Client
    private let decoder = EventDecoder()
    private let logger: Logger
    private var buffer: [AnalyticsSpec.Event] = []
    private var flushing: Task<Void, Error>?
    private var closed = false
    /// Batches given up since the last `flush()` that threw them.
    private var failures: [AnalyticsClientError] = []

    public init(configuration: AnalyticsClientConfiguration, httpClient: HTTPClient = .shared, logger: Logger = Logger(label: "analytics.client")) {
        self.configuration = configuration
        self.logger = logger
        let timeout = configuration.requestTimeout.components
        client = Client(
            serverURL: configuration.serverURL,
            configuration: Configuration(dateTranscoder: MicrosecondDateTranscoder(), jsonEncodingOptions: []),
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
        buffer.append(event)
        if buffer.count >= configuration.batchSize, flushing == nil { startFlush() }
        return event.id
    }

    /// Events buffered and not yet sent.
    public var buffered: Int { buffer.count }

    /// Sends everything buffered; throws the first batch given up since the last call, if any (the
    /// others are logged).
    public func flush() async throws {
        while true {
            if let running = flushing {
                _ = try? await running.value
                continue
            }
            if buffer.isEmpty { break }
            startFlush()
        }
        if let failure = failures.first {
            failures.removeAll()
            throw failure
        }
    }

    /// Flushes, then refuses further events.
    public func shutdown() async throws {
        closed = true
        try await flush()
    }

    /// Flushes every `flushInterval` until graceful shutdown (or cancellation), then sends what is left.
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

    private func startFlush() {
        flushing = Task {
            defer { flushing = nil }
            while !buffer.isEmpty {
                let batch = Array(buffer.prefix(configuration.batchSize))
                buffer.removeFirst(batch.count)
                do {
                    try await deliver(batch)
                } catch let error as AnalyticsClientError {
                    logger.error("events dropped", metadata: ["error": "\(error)"])
                    failures.append(error)
                }
            }
        }
    }

    /// Posts one batch until the server takes it, refuses it for good, or the attempts run out.
    private func deliver(_ batch: [AnalyticsSpec.Event]) async throws {
        let body = batch.map { event in
            Components.Schemas.Event(
                site_id: event.siteID, event_type: event.eventType, path: event.path,
                timestamp: Date(timeIntervalSince1970: Double(event.timestamp) / 1_000_000), user_id: event.userID,
                event_id: event.id.description)
        }
        var lastError = ""
        for attempt in 1...configuration.maximumAttempts {
            var retryAfter: Int?
            do {
                switch try await client.ingestEvents(body: .json(body)) {
                case .ok:
                    return
                case .tooManyRequests(let answer):
                    retryAfter = answer.headers.Retry_hyphen_After
                    lastError = "429"
                case .serviceUnavailable(let answer):
                    retryAfter = answer.headers.Retry_hyphen_After
                    lastError = "503"
                case .badRequest(let answer):
                    throw AnalyticsClientError.rejected(status: 400, message: Self.message(try? answer.body.json), events: batch.count)
                case .unauthorized(let answer):
                    throw AnalyticsClientError.rejected(status: 401, message: Self.message(try? answer.body.json), events: batch.count)
                case .forbidden(let answer):
                    throw AnalyticsClientError.rejected(status: 403, message: Self.message(try? answer.body.json), events: batch.count)
                case .contentTooLarge, .unsupportedMediaType, .methodNotAllowed:
                    throw AnalyticsClientError.rejected(status: 400, message: "the server refused the request's form", events: batch.count)
                case .undocumented(let status, _):
                    guard status >= 500 else {
                        throw AnalyticsClientError.rejected(status: status, message: "HTTP \(status)", events: batch.count)
                    }
                    lastError = "HTTP \(status)"
                }
            } catch let error as AnalyticsClientError {
                throw error
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
        throw AnalyticsClientError.gaveUp(attempts: configuration.maximumAttempts, events: batch.count, lastError: lastError)
    }

    /// Exponential from `initialDelay`, capped, with full jitter over its upper half; never less than the
    /// server's `Retry-After`.
    private nonisolated func backoff(attempt: Int, retryAfter: Int?) -> Duration {
        let exponential = configuration.initialDelay * (1 << min(attempt - 1, 20))
        let capped = min(exponential, configuration.maximumDelay)
        let jittered = capped / 2 + capped / 2 * Double.random(in: 0...1)
        return max(jittered, .seconds(retryAfter ?? 0))
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
