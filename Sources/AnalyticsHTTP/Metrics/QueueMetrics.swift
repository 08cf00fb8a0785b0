import AnalyticsCore
import Metrics

/// The queue's depth and the age of its oldest events, as gauges read at each scrape (the queue is
/// shared, so every process that samples it reports the same figures: aggregate them with `max`).
struct QueueMetrics: Sendable {
    private let queue: any EventQueue
    private let events: [String: Gauge]
    private let oldest: [String: Gauge]
    private let up: Gauge

    init(queue: any EventQueue, factory: any MetricsFactory) {
        self.queue = queue
        var events: [String: Gauge] = [:]
        for state in ["ready", "pending", "delayed", "dead"] {
            events[state] = Gauge(label: "analytics_queue_events", dimensions: [("state", state)], factory: factory)
        }
        var oldest: [String: Gauge] = [:]
        for state in ["ready", "pending"] {
            oldest[state] = Gauge(label: "analytics_queue_oldest_event_age_seconds", dimensions: [("state", state)], factory: factory)
        }
        self.events = events
        self.oldest = oldest
        up = Gauge(label: "analytics_queue_up", dimensions: [], factory: factory)
    }

    /// Reads the queue. When it does not answer (in time), `failed` sets `up` to 0 and the other gauges
    /// keep their last values.
    func update() async throws {
        // One after the other: each holds one of the queue's connections, which the workers share.
        let counts = try await queue.depth()
        let age = try await queue.ages()
        events["ready"]?.record(counts.ready)
        events["pending"]?.record(counts.pending)
        events["delayed"]?.record(counts.delayed)
        events["dead"]?.record(counts.dead)
        oldest["ready"]?.record(age.oldestReady.map(Self.seconds) ?? 0)
        oldest["pending"]?.record(age.oldestPending.map(Self.seconds) ?? 0)
        up.record(1)
    }

    func failed() { up.record(0) }

    static func seconds(_ duration: Duration) -> Double {
        let parts = duration.components
        return Double(parts.seconds) + Double(parts.attoseconds) / 1e18
    }
}

extension PrometheusExporter {
    /// Samples `queue` at each scrape (`analytics_queue_*`).
    public func sampleQueue(_ queue: any EventQueue) {
        let metrics = QueueMetrics(queue: queue, factory: factory)
        sample(failed: { metrics.failed() }) { try await metrics.update() }
    }
}
