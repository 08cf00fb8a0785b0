import AnalyticsCore
import AnalyticsSpec
import Synchronization

/// Wraps a queue and makes it unreachable on command.
public final class FaultInjectingQueue: EventQueue {
    public let base: any EventQueue
    private let down = Mutex(false)

    public init(_ base: any EventQueue) { self.base = base }

    public func setDown(_ value: Bool) { down.withLock { $0 = value } }

    private func check() throws {
        if down.withLock({ $0 }) { throw QueueUnavailable("injected outage") }
    }

    public var visibilityTimeout: Duration { base.visibilityTimeout }

    public func enqueue(_ events: [Event]) async throws {
        try check()
        try await base.enqueue(events)
    }

    public func enqueue(_ events: [Event], drawing draws: [BucketDraw]) async throws -> BucketVerdict {
        try check()
        return try await base.enqueue(events, drawing: draws)
    }

    public func reserve(consumer: String, max: Int, wait: Duration) async throws -> [Delivery] {
        try check()
        return try await base.reserve(consumer: consumer, max: max, wait: wait)
    }

    public func ack(_ ids: [DeliveryID]) async throws {
        try check()
        try await base.ack(ids)
    }

    public func touch(_ ids: [DeliveryID], consumer: String) async throws {
        try check()
        try await base.touch(ids, consumer: consumer)
    }

    @discardableResult
    public func retry(_ delivery: Delivery, after delay: Duration, reason: String) async throws -> Bool {
        try check()
        return try await base.retry(delivery, after: delay, reason: reason)
    }

    @discardableResult
    public func deadLetter(_ delivery: Delivery, reason: String) async throws -> Bool {
        try check()
        return try await base.deadLetter(delivery, reason: reason)
    }

    public func reclaim(consumer: String, max: Int) async throws -> [Delivery] {
        try check()
        return try await base.reclaim(consumer: consumer, max: max)
    }

    public func depth() async throws -> QueueDepth {
        try check()
        return try await base.depth()
    }

    public func ages() async throws -> QueueAges {
        try check()
        return try await base.ages()
    }

    public func deadLetters(limit: Int) async throws -> [DeadLetter] {
        try check()
        return try await base.deadLetters(limit: limit)
    }

    public func replayDeadLetters(ids: [String]?) async throws -> Int {
        try check()
        return try await base.replayDeadLetters(ids: ids)
    }

    public func purgeDeadLetters(ids: [String]?) async throws -> Int {
        try check()
        return try await base.purgeDeadLetters(ids: ids)
    }

    public func ping() async throws {
        try check()
        try await base.ping()
    }
}
