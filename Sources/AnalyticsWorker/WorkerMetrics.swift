import Metrics

/// What a worker counts, under the names `/metrics` shows.
struct WorkerMetrics: Sendable {
    /// Events per batch, as reserved or reclaimed.
    let batchSize: Recorder
    /// From the batch in hand to its last acknowledgement, retry or dead letter.
    let batchDuration: Timer
    let inserted: Counter
    let duplicates: Counter
    let expired: Counter
    let retried: Counter
    let deadLettered: Counter
    /// Times a batch was tried again while the store was unavailable.
    let batchRetries: Counter
    /// Deliveries taken over from consumers that stopped.
    let reclaimed: Counter
    /// Queue calls that failed (the loop waits a second and goes on).
    let queueErrors: Counter

    init(factory: any MetricsFactory) {
        func events(_ outcome: String) -> Counter {
            Counter(label: "analytics_worker_events_total", dimensions: [("outcome", outcome)], factory: factory)
        }
        batchSize = Recorder(label: "analytics_worker_batch_size", dimensions: [], aggregate: true, factory: factory)
        batchDuration = Timer(label: "analytics_worker_batch_duration_seconds", dimensions: [], factory: factory)
        inserted = events("inserted")
        duplicates = events("duplicate")
        expired = events("expired")
        retried = events("retried")
        deadLettered = events("dead_lettered")
        batchRetries = Counter(label: "analytics_worker_batch_retries_total", dimensions: [], factory: factory)
        reclaimed = Counter(label: "analytics_worker_reclaimed_total", dimensions: [], factory: factory)
        queueErrors = Counter(label: "analytics_worker_queue_errors_total", dimensions: [], factory: factory)
    }

    /// Counts a batch's outcomes, and its size and time unless `elapsed` is nil (a batch left to another worker).
    func record(_ outcome: BatchOutcome, elapsed: Duration?) {
        if let elapsed {
            batchSize.record(outcome.count)
            batchDuration.record(duration: elapsed)
        }
        inserted.increment(by: outcome.inserted)
        duplicates.increment(by: outcome.duplicates)
        expired.increment(by: outcome.expired)
        retried.increment(by: outcome.retried)
        deadLettered.increment(by: outcome.deadLettered)
    }
}
