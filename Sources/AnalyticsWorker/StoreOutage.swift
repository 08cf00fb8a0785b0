/// How long a batch has been failing because the store is unavailable: when the worker's patience with it
/// runs out, and what its dead letters say.
struct StoreOutage: Sendable {
    /// When the current stretch of patience began, on the worker's monotonic clock: the first failure, or
    /// the last time the store was found not answering at all.
    var since: Duration
    /// Failed attempts at the batch, those at the larger batch it was split from included.
    var attempts = 0

    init(since: Duration) {
        self.since = since
    }

    func hasLasted(_ limit: Duration, now: Duration) -> Bool {
        now - since >= limit
    }

    /// The dead-letter reason of an event given up on, after `last`, the store's latest answer.
    func reason(_ last: String) -> String {
        "store unavailable for \(attempts) attempts: \(last)"
    }
}
