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
    /// How many times this attempt has been handed out: 1 by `reserve`, one more each time `reclaim` takes
    /// it over from a consumer that stopped (as a Redis stream counts deliveries). A `retry` is a new
    /// delivery and counts from 1 again. A high count means workers keep dying or stalling on it.
    public let deliveries: Int

    public init(id: DeliveryID, event: Event, attempt: Int, lastError: String? = nil, deliveries: Int = 1) {
        self.id = id
        self.event = event
        self.attempt = attempt
        self.lastError = lastError
        self.deliveries = deliveries
    }
}

/// An event that failed for good, kept until it is replayed or purged.
public struct DeadLetter: Sendable, Hashable {
    public let id: String
    /// The event; nil when the payload is not one (a queue entry that could not be decoded), which is then
    /// kept as it is, so that it can be inspected, replayed or purged like any other.
    public let event: Event?
    /// The payload as the queue holds it: the event's JSON, or whatever an undecodable entry held.
    public let payload: String
    public let attempts: Int
    public let reason: String
    /// Microseconds since the Unix epoch.
    public let failedAt: Int64

    public init(id: String, event: Event?, payload: String, attempts: Int, reason: String, failedAt: Int64) {
        self.id = id
        self.event = event
        self.payload = payload
        self.attempts = attempts
        self.reason = reason
        self.failedAt = failedAt
    }

    /// A dead letter holding an event, with the event's JSON as its payload.
    public init(id: String, event: Event, attempts: Int, reason: String, failedAt: Int64) {
        self.init(id: id, event: event, payload: EventCodec.encode(event), attempts: attempts, reason: reason, failedAt: failedAt)
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

/// How long the oldest events have waited, each from when it was queued (or queued again by a retry):
/// what a backlog costs in freshness, which counts alone do not tell.
public struct QueueAges: Sendable, Hashable {
    /// The oldest event waiting for a worker; nil when none waits.
    public var oldestReady: Duration?
    /// The oldest event handed to a worker and not yet acknowledged; nil when none is.
    public var oldestPending: Duration?

    public init(oldestReady: Duration?, oldestPending: Duration?) {
        self.oldestReady = oldestReady
        self.oldestPending = oldestPending
    }
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
///
/// Pending means that the delivery's ID is still in the group's list of pending deliveries, whichever
/// consumer holds it now and however often it was handed out since: what Redis's `XACK` checks. So
/// `retry` and `deadLetter` do nothing, and return false, for a delivery that is no longer pending
/// (already acknowledged, retried or dead-lettered, by its consumer or by one that reclaimed it): a
/// consumer that stalled and lost its batch to another, which stored and acknowledged it, cannot then
/// retry or dead-letter events that are stored. Until the new holder acknowledges it, the delivery is
/// still pending, and the first consumer still moves it; the insert being idempotent, a retry of an
/// event that the other stores meanwhile costs only a redundant insert.
public protocol EventQueue: Sendable {
    /// How long a delivery may go untouched before `reclaim` takes it from its consumer.
    var visibilityTimeout: Duration { get }

    /// Adds events, all or none. When it returns, the events are durably queued.
    func enqueue(_ events: [Event]) async throws

    /// Adds events as `enqueue` does, if every bucket allows its draw (`TokenBucketRule`), and takes the
    /// draws; otherwise adds nothing and takes nothing. Check and add are one atomic step, so processes
    /// sharing the queue share the buckets exactly. Buckets idle long enough to be full are forgotten.
    func enqueue(_ events: [Event], drawing draws: [BucketDraw]) async throws -> BucketVerdict

    /// Up to `max` deliveries for `consumer`, waiting up to `wait` while the queue is empty. Each is
    /// handed out for the first time (`deliveries` 1).
    func reserve(consumer: String, max: Int, wait: Duration) async throws -> [Delivery]

    /// Marks deliveries done; they are removed for good. Unknown IDs are ignored.
    func ack(_ ids: [DeliveryID]) async throws

    /// Keeps deliveries from being reclaimed for another `visibilityTimeout`.
    func touch(_ ids: [DeliveryID], consumer: String) async throws

    /// Takes a delivery back and delivers it again after `delay`, as a new delivery with its attempt count
    /// one higher. Returns false, and does nothing, when the delivery is no longer pending.
    @discardableResult
    func retry(_ delivery: Delivery, after delay: Duration, reason: String) async throws -> Bool

    /// Moves a delivery to the dead letters with the reason it failed. Returns false, and does nothing,
    /// when the delivery is no longer pending.
    @discardableResult
    func deadLetter(_ delivery: Delivery, reason: String) async throws -> Bool

    /// Takes over up to `max` deliveries whose consumers have not touched them for `visibilityTimeout`,
    /// each with its `deliveries` count one higher.
    func reclaim(consumer: String, max: Int) async throws -> [Delivery]

    func depth() async throws -> QueueDepth

    /// How long the oldest ready and the oldest pending event have been in the queue.
    func ages() async throws -> QueueAges

    /// The oldest dead letters first, those whose payload is not an event included.
    func deadLetters(limit: Int) async throws -> [DeadLetter]

    /// Queues dead letters again as first attempts: the given IDs, or every one when `ids` is nil.
    /// A payload that is not an event goes back as it is, and is dead-lettered again when it is read.
    /// Returns how many were replayed.
    func replayDeadLetters(ids: [String]?) async throws -> Int

    /// Deletes dead letters: the given IDs, or every one when `ids` is nil. Returns how many.
    func purgeDeadLetters(ids: [String]?) async throws -> Int

    /// Succeeds when the queue answers.
    func ping() async throws
}
