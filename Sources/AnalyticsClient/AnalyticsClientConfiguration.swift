public import Foundation

/// Where and how an `AnalyticsClient` sends.
public struct AnalyticsClientConfiguration: Sendable {
    /// The ingestion API, such as `http://localhost:3000`.
    public var serverURL: URL
    /// The site's write key, sent as the HTTP Basic user name; nil for sites that take keyless events.
    public var writeKey: String?
    /// Events a request carries, at most (1 to 1000: `POST /events` takes 1000, spec/batch.schema.json).
    public var batchSize = 500
    /// Bytes of JSON a request carries, at most: `POST /events` takes 512 KiB.
    public var maximumBatchBytes = 400 * 1024
    /// How long an event may wait in the buffer before it is sent with fewer than `batchSize` others.
    public var flushInterval: Duration = .seconds(1)
    /// Events the buffer holds at most; `send` throws `AnalyticsClientError.bufferFull` beyond, rather
    /// than grow without bound while the server is away.
    public var maximumBuffered = 100_000
    /// Attempts of one batch before it is given up (`AnalyticsClientError.gaveUp`).
    public var maximumAttempts = 8
    /// The first retry's delay, doubled at each attempt up to `maximumDelay`, with jitter; a
    /// `Retry-After` from the server is waited for at least.
    public var initialDelay: Duration = .milliseconds(250)
    public var maximumDelay: Duration = .seconds(30)
    /// The timeout of one request.
    public var requestTimeout: Duration = .seconds(10)
    /// How long `shutdown()` (and a graceful shutdown of the service) keeps trying to send what is
    /// buffered before it drops the rest.
    public var shutdownTimeout: Duration = .seconds(30)
    /// Called with every batch given up (the events are dropped), as Segment's libraries' `on_error`; the
    /// same errors are logged, and the next `flush()` throws the first.
    public var onDrop: (@Sendable (AnalyticsClientError) -> Void)?

    public init(serverURL: URL, writeKey: String? = nil) {
        self.serverURL = serverURL
        self.writeKey = writeKey
    }
}

/// Why events were not delivered.
public enum AnalyticsClientError: Error, Sendable, Equatable {
    /// The buffer holds `maximumBuffered` events already.
    case bufferFull
    /// The server refused a batch for good (a 4xx other than 429): its events are dropped.
    case rejected(status: Int, message: String, events: Int)
    /// A batch still failed after `maximumAttempts`: its events are dropped.
    case gaveUp(attempts: Int, events: Int, lastError: String)
    /// `send` after `shutdown`.
    case shutDown
    /// `shutdown` ran out of `shutdownTimeout` with events unsent: they are dropped.
    case shutdownTimedOut(events: Int)
}
