import AnalyticsCore
import AnalyticsSpec
import Logging
import Metrics
import ServiceLifecycle

/// What one batch came to.
public struct BatchOutcome: Sendable, Hashable {
    public var count = 0
    public var inserted = 0
    public var duplicates = 0
    /// Events older than the first month retention keeps, acknowledged without being stored.
    public var expired = 0
    /// Events sent back to the queue for a later attempt.
    public var retried = 0
    public var deadLettered = 0
}

/// Moves events from the queue to the store: reserve a batch, insert it, acknowledge it.
///
/// - A duplicate counts as success: the insert is idempotent by `event_id`.
/// - While the store is unavailable, the same batch is tried again with capped exponential backoff and
///   full jitter; nothing is acknowledged and the deliveries are kept from being reclaimed.
/// - An outage is waited out, however long, while the store does not answer at all (`ping`): a restart,
///   a lost network. Every batch fails alike then, and giving up would only move the backlog to the dead
///   letters, to be replayed by hand. A batch that still fails as unavailable after `maxOutage` while the
///   store answers (a statement that times out each time, a lost privilege) is split in halves, each tried
///   once more, down to parts of at most `smallestSplit` events, which are dead-lettered with the reason.
///   The ping fails on a schema at another version, so an unmigrated database is waited out. The price of
///   that limit: a store that answers but cannot take any insert for longer (a lock held for an hour)
///   dead-letters the batches in hand, and `analytics dlq replay` brings them back.
/// - When the store rejects a batch, its events are inserted in halves until the ones at fault are
///   found; the others land, and each one at fault is retried with backoff, then dead-lettered after
///   `maxAttempts` with the reason.
/// - A delivery handed out more than `maxDeliveries` times (a worker died or stalled on it each time) is
///   dead-lettered before the batch is inserted, so that an event that kills its worker does not go on
///   killing workers.
/// - Deliveries whose consumer stopped are reclaimed every `reclaimInterval`.
/// - On graceful shutdown it finishes and acknowledges the batch in hand, then returns.
public final class EventWorker: Service, Sendable {
    private let queue: any EventQueue
    private let store: any EventStore
    private let clock: any WallClock
    /// Measures intervals (reclaims, outages, batch times): the wall clock may be set back or forward.
    private let stopwatch: any MonotonicClock
    private let configuration: WorkerConfiguration
    private let logger: Logger
    private let metrics: WorkerMetrics

    public init(
        queue: any EventQueue, store: any EventStore, clock: any WallClock = SystemClock(),
        configuration: WorkerConfiguration, metrics: any MetricsFactory = MetricsSystem.factory, logger: Logger
    ) {
        self.metrics = WorkerMetrics(factory: metrics)
        self.queue = queue
        self.store = store
        self.clock = clock
        stopwatch = (clock as? any MonotonicClock) ?? SystemMonotonicClock()
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "consumer"] = "\(configuration.consumer)"
        self.logger = logger
    }

    public func run() async throws {
        let stopping = OnceFlag()
        await withGracefulShutdownHandler {
            var lastReclaim: Duration?
            while !stopping.isSet, !Task.isCancelled {
                do {
                    var reclaimed: [Delivery] = []
                    if lastReclaim.map({ stopwatch.elapsed - $0 >= configuration.reclaimInterval }) ?? true {
                        lastReclaim = stopwatch.elapsed
                        reclaimed = try await queue.reclaim(consumer: configuration.consumer, max: configuration.batchSize)
                        if !reclaimed.isEmpty {
                            metrics.reclaimed.increment(by: reclaimed.count)
                            logger.info("reclaimed stalled deliveries", metadata: ["count": "\(reclaimed.count)"])
                        }
                    }
                    let deliveries = reclaimed.isEmpty
                        ? try await queue.reserve(consumer: configuration.consumer, max: configuration.batchSize, wait: configuration.reserveWait)
                        : reclaimed
                    if !deliveries.isEmpty { _ = try await process(deliveries, stopping: stopping) }
                } catch is CancellationError {
                    return
                } catch {
                    metrics.queueErrors.increment()
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
        metrics.reclaimed.increment(by: deliveries.count)
        return try await process(deliveries, stopping: OnceFlag())
    }

    func process(_ deliveries: [Delivery], stopping: OnceFlag) async throws -> BatchOutcome {
        let started = stopwatch.elapsed
        var outcome = BatchOutcome(count: deliveries.count)
        // Recorded however the batch ends, a queue call that throws half way included (what was acknowledged,
        // retried or dead-lettered by then counts); its size and time not when it is left to the next worker at
        // shutdown, which counts it again.
        var abandoned = false
        defer { metrics.record(outcome, elapsed: abandoned ? nil : stopwatch.elapsed - started) }
        var generator = SystemRandomNumberGenerator()
        let batch = try await deadLetterOverdelivered(deliveries, into: &outcome)
        var outage: StoreOutage?
        while !batch.isEmpty {
            do {
                let result = try await insertKeepingAlive(batch, holding: batch)
                try await queue.ack(batch.map(\.id))
                outcome.inserted = result.inserted
                outcome.duplicates = result.duplicates
                outcome.expired = result.expired
                break
            } catch StoreFailure.unavailable(let reason) {
                if stopping.isSet {
                    logger.notice("shutting down while the store is unavailable; the batch stays pending for the next worker",
                                  metadata: ["count": "\(batch.count)"])
                    abandoned = true
                    return outcome
                }
                var current = outage ?? StoreOutage(since: stopwatch.elapsed)
                let givingUp = await givesUp(on: &current)
                outage = current
                if givingUp {
                    logger.error(
                        "store unavailable for this batch past the outage limit while it answers; splitting it, dead-lettering what still fails",
                        metadata: ["count": "\(batch.count)", "attempts": "\(current.attempts)", "error": "\(reason)"])
                    try await split(batch, after: current, reason: reason, holding: batch, into: &outcome, generator: &generator)
                    break
                }
                let delay = configuration.outageBackoff.delay(attempt: current.attempts, using: &generator)
                metrics.batchRetries.increment()
                logger.warning("store unavailable, retrying the batch", metadata: [
                    "count": "\(batch.count)", "attempt": "\(current.attempts)", "delay_ms": "\(delay.microseconds / 1000)",
                    "error": "\(reason)",
                ])
                try await backOff(for: delay, holding: batch)
            } catch StoreFailure.rejected {
                try await isolate(batch, outage: nil, holding: batch, into: &outcome, generator: &generator)
                break
            }
        }
        logger.info("batch", metadata: [
            "count": "\(outcome.count)", "new": "\(outcome.inserted)", "duplicates": "\(outcome.duplicates)", "expired": "\(outcome.expired)",
            "retried": "\(outcome.retried)", "dead": "\(outcome.deadLettered)",
            "ms": "\((stopwatch.elapsed - started).microseconds / 1000)",
        ])
        return outcome
    }

    /// Dead-letters the deliveries handed out more than `maxDeliveries` times, and returns the others. A
    /// worker died or stalled on each of those every time (an event that crashes the process), so inserting
    /// them once more would most likely do the same again.
    private func deadLetterOverdelivered(_ deliveries: [Delivery], into outcome: inout BatchOutcome) async throws -> [Delivery] {
        let limit = configuration.maxDeliveries
        guard deliveries.contains(where: { $0.deliveries > limit }) else { return deliveries }
        var rest: [Delivery] = []
        for delivery in deliveries {
            guard delivery.deliveries > limit else {
                rest.append(delivery)
                continue
            }
            let reason = "delivered \(delivery.deliveries) times without being acknowledged (a worker crashed or stalled on it each time)"
            try await deadLetter(delivery, reason: reason, into: &outcome)
        }
        return rest
    }

    /// Counts a failed attempt in `outage`, and tells whether to stop waiting for the store: once the
    /// outage has lasted `maxOutage` and the store answers, the failure is this batch's. While the store
    /// does not answer at all, the outage is everyone's: the worker keeps waiting, and its patience starts again.
    private func givesUp(on outage: inout StoreOutage) async -> Bool {
        outage.attempts += 1
        let now = stopwatch.elapsed
        guard outage.hasLasted(configuration.maxOutage, now: now) else { return false }
        do {
            try await store.ping()
            return true
        } catch {
            logger.warning("store not answering past the outage limit; keeping the batch", metadata: [
                "attempts": "\(outage.attempts)", "error": "\(error)",
            ])
            outage.since = now
            return false
        }
    }

    /// Sleeps for `delay`, then touches `deliveries`, and in between at least every half visibility timeout:
    /// a backoff longer than the timeout must not let another worker take them over, which would count one
    /// more delivery of each towards `maxDeliveries`.
    private func backOff(for delay: Duration, holding deliveries: [Delivery]) async throws {
        let step = max(queue.visibilityTimeout / 2, .milliseconds(1))
        var left = delay
        repeat {
            let nap = min(left, step)
            try await clock.sleep(for: nap)
            left -= nap
            try await queue.touch(deliveries.map(\.id), consumer: configuration.consumer)
        } while left > .zero
    }

    /// Inserts a batch in halves until only the events at fault stay behind: each one the store rejects, and
    /// each one it still cannot take once an outage has outlasted the limit. `outage` is the one the larger
    /// batch met, if it ran out the limit: then this part is tried once before it is split in turn.
    private func isolate(
        _ deliveries: [Delivery], outage inherited: StoreOutage?, holding all: [Delivery], into outcome: inout BatchOutcome,
        generator: inout SystemRandomNumberGenerator
    ) async throws {
        var outage = inherited
        while true {
            do {
                let result = try await insertKeepingAlive(deliveries, holding: all)
                try await queue.ack(deliveries.map(\.id))
                outcome.inserted += result.inserted
                outcome.duplicates += result.duplicates
                outcome.expired += result.expired
                return
            } catch StoreFailure.unavailable(let reason) {
                var current = outage ?? StoreOutage(since: stopwatch.elapsed)
                let givingUp = await givesUp(on: &current)
                outage = current
                if givingUp {
                    try await split(deliveries, after: current, reason: reason, holding: all, into: &outcome, generator: &generator)
                    return
                }
                let delay = configuration.outageBackoff.delay(attempt: current.attempts, using: &generator)
                metrics.batchRetries.increment()
                try await backOff(for: delay, holding: all)
            } catch StoreFailure.rejected(let reason) {
                guard deliveries.count > 1 else {
                    try await fail(deliveries[0], reason: reason, into: &outcome, generator: &generator)
                    return
                }
                let middle = deliveries.count / 2
                try await isolate(Array(deliveries[..<middle]), outage: nil, holding: all, into: &outcome, generator: &generator)
                try await isolate(Array(deliveries[middle...]), outage: nil, holding: all, into: &outcome, generator: &generator)
                return
            }
        }
    }

    /// Stops trying `deliveries` whole after an outage that outlasted the limit: each half is tried once more
    /// on its own (a smaller batch may finish where the larger one timed out), down to parts of
    /// `WorkerConfiguration.smallestSplit` events, which are dead-lettered without more attempts. So a batch
    /// of n events costs at most about 2n / smallestSplit more attempts, not 2n.
    private func split(
        _ deliveries: [Delivery], after outage: StoreOutage, reason: String, holding all: [Delivery],
        into outcome: inout BatchOutcome, generator: inout SystemRandomNumberGenerator
    ) async throws {
        guard deliveries.count > configuration.smallestSplit else {
            for delivery in deliveries { try await deadLetter(delivery, reason: outage.reason(reason), into: &outcome) }
            return
        }
        // The halves go one after the other, each perhaps slowly: keep the whole batch from being reclaimed.
        try await queue.touch(all.map(\.id), consumer: configuration.consumer)
        let middle = deliveries.count / 2
        try await isolate(Array(deliveries[..<middle]), outage: outage, holding: all, into: &outcome, generator: &generator)
        try await isolate(Array(deliveries[middle...]), outage: outage, holding: all, into: &outcome, generator: &generator)
    }

    /// Inserts `deliveries`, touching every delivery of `all` (the batch they belong to) each half visibility
    /// timeout while the insert is in flight: an insert that waits (for a migration's locks, a slow disk) must
    /// not let other workers take the batch over, which would count a delivery for each. Real time, not the
    /// worker's clock: the visibility timeout is the queue's, in real time.
    private func insertKeepingAlive(_ deliveries: [Delivery], holding all: [Delivery]) async throws -> InsertResult {
        let events = deliveries.map(\.event)
        let ids = all.map(\.id)
        let interval = max(queue.visibilityTimeout / 2, .milliseconds(10))
        return try await withThrowingTaskGroup(of: InsertResult?.self) { group in
            group.addTask { try await self.store.insert(events) }
            group.addTask {
                while true {
                    try await Task.sleep(for: interval)
                    try? await self.queue.touch(ids, consumer: self.configuration.consumer)
                }
            }
            defer { group.cancelAll() }
            while let result = try await group.next() {
                if let result { return result }
            }
            preconditionFailure("the insert task ended without a result")
        }
    }

    private func fail(
        _ delivery: Delivery, reason: String, into outcome: inout BatchOutcome,
        generator: inout SystemRandomNumberGenerator
    ) async throws {
        if delivery.attempt >= configuration.maxAttempts {
            try await deadLetter(delivery, reason: reason, into: &outcome)
        } else {
            let delay = configuration.retryBackoff.delay(attempt: delivery.attempt, using: &generator)
            // Not counted when another worker reclaimed the delivery and acknowledged it meanwhile.
            guard try await queue.retry(delivery, after: delay, reason: reason) else { return }
            outcome.retried += 1
            logger.debug("event retried", metadata: [
                "event_id": "\(delivery.event.id)", "attempt": "\(delivery.attempt)", "reason": "\(reason)",
            ])
        }
    }

    /// Dead-letters `delivery`, counting it only when the queue still held it (another worker may have
    /// reclaimed and acknowledged it meanwhile).
    private func deadLetter(_ delivery: Delivery, reason: String, into outcome: inout BatchOutcome) async throws {
        guard try await queue.deadLetter(delivery, reason: reason) else { return }
        outcome.deadLettered += 1
        logger.warning("event dead-lettered", metadata: [
            "event_id": "\(delivery.event.id)", "attempts": "\(delivery.attempt)", "reason": "\(reason)",
        ])
    }
}
