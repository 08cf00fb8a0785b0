/// Every metric this project defines, with its help text and, for histograms, its buckets: one place that
/// the exposition, docs/metrics.md and the Grafana dashboard agree with (a test checks the docs).
enum MetricNames {
    static let help: [String: String] = [
        "analytics_http_requests_total": "HTTP requests answered, by route pattern, method and status.",
        "analytics_http_request_duration_seconds": "Time from a request's head to its answer, by route pattern and method.",
        "analytics_segment_messages_total": "Segment messages accepted, by type.",
        "analytics_queue_events": "Events in the queue, by state: ready (waiting for a worker), pending (handed out, not acknowledged), delayed (waiting to be retried), dead (dead-lettered).",
        "analytics_queue_oldest_event_age_seconds": "Age of the oldest ready and of the oldest pending event, from when it was queued; 0 when there is none.",
        "analytics_queue_up": "1 when the last sample of the queue answered in time, else 0.",
        "analytics_worker_batch_size": "Events per batch a worker took.",
        "analytics_worker_batch_duration_seconds": "Time from a batch in hand to its last acknowledgement, retry or dead letter.",
        "analytics_worker_events_total": "Events a worker finished, by outcome: inserted, duplicate (already stored), expired (older than the months retention keeps), retried (sent back to the queue), dead_lettered.",
        "analytics_worker_batch_retries_total": "Times a batch was tried again because the store was unavailable.",
        "analytics_worker_reclaimed_total": "Deliveries taken over from workers that stopped or stalled.",
        "analytics_worker_queue_errors_total": "Queue calls of a worker that failed (it waits a second and goes on).",
        "analytics_store_duration_seconds": "Time of a store call, by operation: insert (a worker's batch), stats, timeseries, breakdown and sites (the reporting endpoints' queries).",
        "analytics_store_errors_total": "Store calls that failed, by operation and class: unavailable (retried), rejected (the data), other.",
        "process_cpu_seconds_total": "User and system CPU time spent, in seconds.",
        "process_resident_memory_bytes": "Resident memory size, in bytes.",
        "process_virtual_memory_bytes": "Virtual memory size, in bytes.",
        "process_open_fds": "Open file descriptors.",
        "process_max_fds": "The limit of open file descriptors.",
        "process_start_time_seconds": "Start time of the process since the Unix epoch, in seconds.",
    ]

    static let durationBuckets: [String: [Duration]] = [
        "analytics_http_request_duration_seconds": [
            .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500),
            .seconds(5), .seconds(10),
        ],
        "analytics_store_duration_seconds": [
            .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
            .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5),
            .seconds(10), .seconds(30),
        ],
        "analytics_worker_batch_duration_seconds": [
            .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30), .seconds(60),
        ],
    ]

    static let valueBuckets: [String: [Double]] = [
        "analytics_worker_batch_size": [1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000]
    ]

    /// `text` with a `# HELP` line before each `# TYPE` line whose metric has help here (swift-prometheus
    /// only writes help given to its own API, which swift-metrics' API has no room for).
    static func withHelp(_ text: [UInt8]) -> [UInt8] {
        let prefix = Array("# TYPE ".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(text.count + 4096)
        var start = 0
        while start < text.count {
            let end = text[start...].firstIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? text.count
            let line = text[start..<end]
            if line.starts(with: prefix) {
                let nameStart = start + prefix.count
                let nameEnd = text[nameStart..<end].firstIndex(of: UInt8(ascii: " ")) ?? end
                if let help = help[String(decoding: text[nameStart..<nameEnd], as: UTF8.self)] {
                    out.append(contentsOf: "# HELP ".utf8)
                    out.append(contentsOf: text[nameStart..<nameEnd])
                    out.append(UInt8(ascii: " "))
                    out.append(contentsOf: help.utf8)
                    out.append(UInt8(ascii: "\n"))
                }
            }
            out.append(contentsOf: line)
            start = end
        }
        return out
    }
}
