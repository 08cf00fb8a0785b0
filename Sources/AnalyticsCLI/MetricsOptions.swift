import AnalyticsHTTP
import ArgumentParser
import Hummingbird
import Logging
import Metrics
import ServiceLifecycle

/// Whether the process exports metrics: `METRICS`.
enum MetricsSwitch: String, CaseIterable {
    case on, off
}

/// `/metrics` on every process: `METRICS` (on or off), `METRICS_TOKEN` (read from the environment only, so
/// that it shows in no process list), and the worker's own port.
struct MetricsOptions: ParsableArguments {
    @Option(help: ArgumentHelp("on: GET /metrics on every port (and the worker's METRICS_PORT), in Prometheus's text format; off: no metrics at all. A scrape must send Authorization: Bearer $METRICS_TOKEN when that is set. Default: $METRICS or on.", valueName: "on|off"))
    var metrics: String?

    /// The exporter every instrument of this process records into (bootstrapped as swift-metrics' factory),
    /// sampling the process itself; nil with `METRICS=off`. Call once per process.
    func exporter() -> PrometheusExporter? {
        guard Settings.choice("metrics", flag: metrics, default: MetricsSwitch.on) == .on else { return nil }
        let token = Settings.environment.string(forKey: "metrics.token", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        let exporter = PrometheusExporter(token: token, reuseFor: .seconds(1))
        MetricsSystem.bootstrap(exporter.factory)
        exporter.sampleProcess()
        return exporter
    }
}

/// The worker's port for `/metrics`, `/healthz` and `/readyz`.
struct WorkerPortOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Port of the worker's /metrics, /healthz and /readyz (0 picks a free one), or off. Each worker on one machine needs its own. Default: $METRICS_PORT or 9464.", valueName: "port|off"))
    var metricsPort: String?

    /// The port, or nil for none; `chosen` when the operator set it (a port taken is then fatal).
    var port: (number: Int, chosen: Bool)? {
        let set = Settings.string("metrics.port", flag: metricsPort).flatMap { $0.isEmpty ? nil : $0 }
        let text = set ?? "9464"
        if text.lowercased() == "off" { return nil }
        guard let port = Int(text), (0...65535).contains(port) else {
            Settings.usageError("metrics.port", flag: metricsPort, "must be a port (0 to 65535) or off, not '\(text)'")
        }
        return (port, set != nil)
    }
}

/// Runs `service` and, if it fails (the worker's default metrics port taken by another worker on the
/// machine, say), logs why and waits for the process to stop instead: a worker without its metrics port
/// still moves events. A port the operator chose is not wrapped: its failure stops the worker.
struct BestEffortService<Inner: Service>: Service {
    let inner: Inner
    let what: String
    let logger: Logger

    func run() async throws {
        do {
            try await inner.run()
        } catch is CancellationError {
            return
        } catch {
            logger.error("\(what) stopped; the worker goes on without it", metadata: ["error": "\(error)"])
            try? await gracefulShutdown()
        }
    }
}
