import AnalyticsSpec

/// Identifies one delivery of an event from the queue (a Redis stream entry ID, for instance).
public typealias DeliveryID = String

/// An event handed to a worker, to be acknowledged, retried or dead-lettered.
public struct Delivery: Sendable, Hashable {
    public let id: DeliveryID
    public let event: Event
    /// Which attempt this is: 1 the first time, one more after each `retry`.
    public let attempt: Int
    /// Why the previous attempt failed, if it did.
    public let lastError: String?

    public init(id: DeliveryID, event: Event, attempt: Int, lastError: String? = nil) {
        self.id = id
        self.event = event
        self.attempt = attempt
        self.lastError = lastError
    }
}

/// An event that failed for good, kept until it is replayed or purged.
public struct DeadLetter: Sendable, Hashable {
    public let id: String
    public let event: Event
    public let attempts: Int
    public let reason: String
    /// Microseconds since the Unix epoch.
    public let failedAt: Int64

    public init(id: String, event: Event, attempts: Int, reason: String, failedAt: Int64) {
        self.id = id
        self.event = event
        self.attempts = attempts
        self.reason = reason
        self.failedAt = failedAt
    }
}

/// How many events are where.
public struct QueueDepth: Sendable, Hashable {
    /// Waiting for a worker.
    public var ready: Int
    /// Handed to a worker and not yet acknowledged.
    public var pending: Int
    /// Waiting for a retry delay to pass.
    public var delayed: Int
    /// Dead-lettered.
    public var dead: Int

    public init(ready: Int, pending: Int, delayed: Int, dead: Int) {
        self.ready = ready
        self.pending = pending
        self.delayed = delayed
        self.dead = dead
    }

    /// Events accepted and not yet stored or dead-lettered.
    public var backlog: Int { ready + pending + delayed }
}

/// A queue failure. Every one is worth retrying later: the queue is unreachable or not answering.
public struct QueueUnavailable: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { "queue unavailable: \(reason)" }
}

/// A durable queue of events with at-least-once delivery to a group of consumers.
///
/// A delivery stays pending until it is acknowledged, retried or dead-lettered. One whose consumer
/// has not touched it for `visibilityTimeout` is handed to the next consumer that calls `reclaim`.
public protocol EventQueue: Sendable {
    /// How long a delivery may go untouched before `reclaim` takes it from its consumer.
    var visibilityTimeout: Duration { get }

    /// Adds events, all or none. When it returns, the events are durably queued.
    func enqueue(_ events: [Event]) async throws

    /// Up to `max` deliveries for `consumer`, waiting up to `wait` while the queue is empty.
    func reserve(consumer: String, max: Int, wait: Duration) async throws -> [Delivery]

    /// Marks deliveries done; they are removed for good. Unknown IDs are ignored.
    func ack(_ ids: [DeliveryID]) async throws

    /// Keeps deliveries from being reclaimed for another `visibilityTimeout`.
    func touch(_ ids: [DeliveryID], consumer: String) async throws

    /// Takes a delivery back and delivers it again after `delay`, with its attempt count one higher.
    func retry(_ delivery: Delivery, after delay: Duration, reason: String) async throws

    /// Moves a delivery to the dead letters with the reason it failed.
    func deadLetter(_ delivery: Delivery, reason: String) async throws

    /// Takes over up to `max` deliveries whose consumers have not touched them for `visibilityTimeout`.
    func reclaim(consumer: String, max: Int) async throws -> [Delivery]

    func depth() async throws -> QueueDepth

    /// The oldest dead letters first.
    func deadLetters(limit: Int) async throws -> [DeadLetter]

    /// Queues dead letters again as first attempts: the given IDs, or every one when `ids` is nil.
    /// Returns how many were replayed.
    func replayDeadLetters(ids: [String]?) async throws -> Int

    /// Deletes dead letters: the given IDs, or every one when `ids` is nil. Returns how many.
    func purgeDeadLetters(ids: [String]?) async throws -> Int

    /// Succeeds when the queue answers.
    func ping() async throws
}
