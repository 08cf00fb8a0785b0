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
    /// Delays before an event that failed on its own is tried again.
    public var retryBackoff = Backoff(base: .seconds(1), cap: .seconds(60))

    public init(consumer: String) {
        self.consumer = consumer
    }
}
