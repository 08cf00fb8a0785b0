import AnalyticsCore

/// How an `EventWorker` behaves.
public struct WorkerConfiguration: Sendable {
    /// The name this worker reserves deliveries under; unique per worker.
    public var consumer: String
    /// Deliveries reserved and inserted together.
    public var batchSize = 2000
    /// Attempts at an event that fails on its own before it is dead-lettered.
    public var maxAttempts = 5
    /// How long `reserve` waits for work; also bounds how long shutdown waits for an idle worker.
    public var reserveWait: Duration = .seconds(1)
    /// How often to take over deliveries whose consumer stopped.
    public var reclaimInterval: Duration = .seconds(5)
    /// Delays between attempts at a batch while the store is unavailable.
    public var outageBackoff = Backoff(base: .milliseconds(100), cap: .seconds(10))
    /// How long a batch may keep failing as unavailable, while the store answers otherwise, before it is
    /// split and what still fails is dead-lettered. Fifteen minutes: far longer than a restart of the
    /// store under load (about a minute), and some 180 attempts at the capped backoff (5 s on average).
    /// While the store does not answer at all, no batch is given up, however long that lasts.
    public var maxOutage: Duration = .seconds(15 * 60)
    /// The smallest part of a batch given up on after `maxOutage` that is split further; parts this small
    /// are dead-lettered whole. It bounds the attempts a given-up batch costs when each one is slow (a
    /// statement that times out every time).
    public var smallestSplit = 100
    /// Times a delivery may be handed out (its worker died or stalled on it each time but the last)
    /// before the worker that gets it next dead-letters it instead of inserting it. Ten: with the default
    /// visibility timeout, at least five minutes of workers failing on it; a worker killed once by a
    /// deploy or a restart costs one.
    public var maxDeliveries = 10
    /// Delays before an event that failed on its own is tried again.
    public var retryBackoff = Backoff(base: .seconds(1), cap: .seconds(60))

    public init(consumer: String) {
        self.consumer = consumer
    }
}
