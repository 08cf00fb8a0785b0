import AnalyticsCore
import AnalyticsSpec
import Logging
import ServiceLifecycle

/// What one batch came to.
public struct BatchOutcome: Sendable, Hashable {
    public var count = 0
    public var inserted = 0
    public var duplicates = 0
    /// Events sent back to the queue for a later attempt.
    public var retried = 0
    public var deadLettered = 0
}

/// Moves events from the queue to the store: reserve a batch, insert it, acknowledge it.
///
/// - A duplicate counts as success: the insert is idempotent by `event_id`.
/// - While the store is unavailable, the same batch is tried again with capped exponential backoff and
///   full jitter; nothing is acknowledged and the deliveries are kept from being reclaimed.
/// - When the store rejects a batch, its events are inserted in halves until the ones at fault are
///   found; the others land, and each one at fault is retried with backoff, then dead-lettered after
///   `maxAttempts` with the reason.
/// - Deliveries whose consumer stopped are reclaimed every `reclaimInterval`.
/// - On graceful shutdown it finishes and acknowledges the batch in hand, then returns.
public final class EventWorker: Service, Sendable {
    private let queue: any EventQueue
    private let store: any EventStore
    private let clock: any WallClock
    private let configuration: WorkerConfiguration
    private let logger: Logger

    public init(
        queue: any EventQueue, store: any EventStore, clock: any WallClock = SystemClock(),
        configuration: WorkerConfiguration, logger: Logger
    ) {
        self.queue = queue
        self.store = store
        self.clock = clock
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "consumer"] = "\(configuration.consumer)"
        self.logger = logger
    }

    public func run() async throws {
        let stopping = OnceFlag()
        await withGracefulShutdownHandler {
            var lastReclaim: Int64?
            while !stopping.isSet, !Task.isCancelled {
                do {
                    var reclaimed: [Delivery] = []
                    if lastReclaim.map({ clock.now - $0 >= configuration.reclaimInterval.microseconds }) ?? true {
                        lastReclaim = clock.now
                        reclaimed = try await queue.reclaim(consumer: configuration.consumer, max: configuration.batchSize)
                        if !reclaimed.isEmpty { logger.info("reclaimed stalled deliveries", metadata: ["count": "\(reclaimed.count)"]) }
                    }
                    let deliveries = reclaimed.isEmpty
                        ? try await queue.reserve(consumer: configuration.consumer, max: configuration.batchSize, wait: configuration.reserveWait)
                        : reclaimed
                    if !deliveries.isEmpty { _ = try await process(deliveries, stopping: stopping) }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("queue unavailable, retrying", metadata: ["error": "\(error)"])
                    try? await clock.sleep(for: .seconds(1))
                }
            }
        } onGracefulShutdown: {
            stopping.set()
        }
    }

    /// Reserves one batch (waiting up to `reserveWait`) and processes it; nil when there was nothing.
    public func processNextBatch() async throws -> BatchOutcome? {
        let deliveries = try await queue.reserve(
            consumer: configuration.consumer, max: configuration.batchSize, wait: configuration.reserveWait)
        guard !deliveries.isEmpty else { return nil }
        return try await process(deliveries, stopping: OnceFlag())
    }

    /// Reclaims stalled deliveries and processes them; nil when there were none.
    public func reclaimStalled() async throws -> BatchOutcome? {
        let deliveries = try await queue.reclaim(consumer: configuration.consumer, max: configuration.batchSize)
        guard !deliveries.isEmpty else { return nil }
        return try await process(deliveries, stopping: OnceFlag())
    }

    func process(_ deliveries: [Delivery], stopping: OnceFlag) async throws -> BatchOutcome {
        let started = clock.now
        var outcome = BatchOutcome(count: deliveries.count)
        var generator = SystemRandomNumberGenerator()
        var outage = 0
        while true {
            do {
                let result = try await store.insert(deliveries.map(\.event))
                try await queue.ack(deliveries.map(\.id))
                outcome.inserted = result.inserted
                outcome.duplicates = result.duplicates
                break
            } catch StoreFailure.unavailable(let reason) {
                if stopping.isSet {
                    logger.notice("shutting down while the store is unavailable; the batch stays pending for the next worker",
                                  metadata: ["count": "\(deliveries.count)"])
                    return outcome
                }
                outage += 1
                let delay = configuration.outageBackoff.delay(attempt: outage, using: &generator)
                logger.warning("store unavailable, retrying the batch", metadata: [
                    "count": "\(deliveries.count)", "attempt": "\(outage)", "delay_ms": "\(delay.microseconds / 1000)",
                    "error": "\(reason)",
                ])
                try await clock.sleep(for: delay)
                try await queue.touch(deliveries.map(\.id), consumer: configuration.consumer)
            } catch StoreFailure.rejected {
                try await isolate(deliveries, into: &outcome, generator: &generator)
                break
            }
        }
        logger.info("batch", metadata: [
            "count": "\(outcome.count)", "new": "\(outcome.inserted)", "duplicates": "\(outcome.duplicates)",
            "retried": "\(outcome.retried)", "dead": "\(outcome.deadLettered)",
            "ms": "\((clock.now - started) / 1000)",
        ])
        return outcome
    }

    /// Inserts a rejected batch in halves so that only the events at fault stay behind.
    private func isolate(
        _ deliveries: [Delivery], into outcome: inout BatchOutcome, generator: inout SystemRandomNumberGenerator
    ) async throws {
        var outage = 0
        while true {
            do {
                let result = try await store.insert(deliveries.map(\.event))
                try await queue.ack(deliveries.map(\.id))
                outcome.inserted += result.inserted
                outcome.duplicates += result.duplicates
                return
            } catch StoreFailure.unavailable {
                outage += 1
                try await clock.sleep(for: configuration.outageBackoff.delay(attempt: outage, using: &generator))
                try await queue.touch(deliveries.map(\.id), consumer: configuration.consumer)
            } catch StoreFailure.rejected(let reason) {
                guard deliveries.count > 1 else {
                    try await fail(deliveries[0], reason: reason, into: &outcome, generator: &generator)
                    return
                }
                let middle = deliveries.count / 2
                try await isolate(Array(deliveries[..<middle]), into: &outcome, generator: &generator)
                try await isolate(Array(deliveries[middle...]), into: &outcome, generator: &generator)
                return
            }
        }
    }

    private func fail(
        _ delivery: Delivery, reason: String, into outcome: inout BatchOutcome,
        generator: inout SystemRandomNumberGenerator
    ) async throws {
        if delivery.attempt >= configuration.maxAttempts {
            try await queue.deadLetter(delivery, reason: reason)
            outcome.deadLettered += 1
            logger.warning("event dead-lettered", metadata: [
                "event_id": "\(delivery.event.id)", "attempts": "\(delivery.attempt)", "reason": "\(reason)",
            ])
        } else {
            let delay = configuration.retryBackoff.delay(attempt: delivery.attempt, using: &generator)
            try await queue.retry(delivery, after: delay, reason: reason)
            outcome.retried += 1
            logger.debug("event retried", metadata: [
                "event_id": "\(delivery.event.id)", "attempt": "\(delivery.attempt)", "reason": "\(reason)",
            ])
        }
    }
}
