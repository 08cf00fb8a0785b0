import AnalyticsCore
import Metrics
import Prometheus
import Synchronization

/// What `GET /metrics` serves: the registry every instrument of this process records into (through
/// `factory`, swift-metrics' API), the samplers read at each scrape (queue depth, the process), and the
/// optional token a scrape must present.
public final class PrometheusExporter: Sendable {
    public let registry: PrometheusCollectorRegistry
    /// Hand this to the instruments (or `MetricsSystem.bootstrap` it): it carries the histogram buckets.
    public let factory: PrometheusMetricsFactory
    private let token: SecretDigest?
    /// How long a rendering is served again: scrapes in a burst (or a client asking in a loop) cost one
    /// rendering and one sampling a period.
    private let reuseFor: Duration
    private let last = Mutex<(at: ContinuousClock.Instant, text: [UInt8])?>(nil)
    private let samplers = Mutex<[Sampler]>([])

    private struct Sampler: Sendable {
        let probe: ReadinessProbe
        let failed: @Sendable () -> Void
    }

    /// - Parameters:
    ///   - token: when set, a scrape must send `Authorization: Bearer TOKEN` (`METRICS_TOKEN`); only its
    ///     SHA-256 digest is kept.
    ///   - reuseFor: how long a rendering answers later scrapes (the CLI uses a second; tests none).
    public init(token: String? = nil, reuseFor: Duration = .zero, registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.token = token.map { SecretDigest(of: $0) }
        self.reuseFor = reuseFor
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets = MetricNames.durationBuckets
        factory.valueHistogramBuckets = MetricNames.valueBuckets
        self.factory = factory
    }

    /// Runs `sample` before each scrape renders, at most once at a time and waited for no longer than
    /// `timeout` (a queue that does not answer must not hold the scrape); a scrape meanwhile shows the values
    /// it last set, and `failed` runs when it throws or is late. Add samplers before the port opens.
    public func sample(
        timeout: Duration = .seconds(2), failed: @escaping @Sendable () -> Void = {}, _ sample: @escaping @Sendable () async throws -> Void
    ) {
        samplers.withLock { $0.append(Sampler(probe: ReadinessProbe(timeout: timeout, check: sample), failed: failed)) }
    }

    /// The process's own figures: CPU, memory, file descriptors, start time.
    public func sampleProcess() {
        let process = ProcessMetrics(factory: factory)
        sample { process.update() }
    }

    /// Whether a scrape may read: always without a token, else with `Authorization: Bearer TOKEN`.
    func authorizes(_ credentials: AuthorizationHeader?) -> Bool {
        guard let token else { return true }
        guard case .bearer(let presented) = credentials else { return false }
        return token.matches(SecretDigest(of: presented))
    }

    /// Runs the samplers, then renders every metric in Prometheus's text format (0.0.4), each family with
    /// its `# HELP` line.
    public func scrape() async -> [UInt8] {
        let now = ContinuousClock.now
        if reuseFor > .zero, let last = last.withLock({ $0 }), now - last.at < reuseFor { return last.text }
        let probes = samplers.withLock { $0 }
        await withTaskGroup(of: Void.self) { group in
            for sampler in probes {
                group.addTask {
                    if case .ok = await sampler.probe.outcome() { return }
                    sampler.failed()
                }
            }
        }
        var emitted: [UInt8] = []
        emitted.reserveCapacity(32 * 1024)
        registry.emit(into: &emitted)
        let text = MetricNames.withHelp(emitted)
        if reuseFor > .zero { last.withLock { $0 = (now, text) } }
        return text
    }
}
