import AnalyticsCore
import AnalyticsSpec
import Hummingbird
import Logging
import Metrics

/// Builds the two HTTP services.
public enum Applications {
    /// The ingestion API: `POST /event`, `POST /events`, Segment's `/v1/*`, the script tag's `/script.js`
    /// and `/collect`, `/healthz`, `/readyz`. `visitors` keeps the script tag's daily visitor keys: give
    /// every ingestion process the same store (Redis) so that a visitor is one visitor whichever it reaches.
    public static func ingestion(
        queue: any EventQueue,
        clock: any WallClock = SystemClock(),
        contract: Contract = .embedded,
        configuration: IngestionConfiguration = IngestionConfiguration(),
        access: IngestionAccess? = nil,
        connections: ConnectionLimits? = nil,
        server: ApplicationConfiguration = ApplicationConfiguration(address: .hostname("127.0.0.1", port: 3000)),
        metrics: any MetricsFactory = MetricsSystem.factory,
        exporter: PrometheusExporter? = nil,
        visitors: VisitorKeys = VisitorKeys(store: InMemoryVisitorKeyStore()),
        logger: Logger
    ) -> some ApplicationProtocol {
        let (router, methods) = makeRouter(metrics: metrics, exporter: exporter)
        let ingestion = IngestionRoutes(queue: queue, clock: clock, decoder: EventDecoder(contract: contract), configuration: configuration, access: access)
        ingestion.register(on: router, methods: methods)
        if let decoder = SegmentDecoder(contract: contract) {
            SegmentRoutes(decoder: decoder, clock: clock, intake: ingestion.intake, access: access, metrics: metrics)
                .register(on: router, methods: methods)
        }
        if let decoder = TrackerHitDecoder(contract: contract) {
            TrackerRoutes(decoder: decoder, clock: clock, intake: ingestion.intake, access: access, visitors: visitors)
                .register(on: router, methods: methods)
        }
        var checks: [(String, @Sendable () async throws -> Void)] = [("queue", { try await queue.ping() })]
        if let access { checks.append(("registry", access.view.loaded)) }
        HealthRoutes(checks: checks, timeout: .seconds(2)).register(on: router, methods: methods)
        return Application(router: router, server: connections.map { .http1(limits: $0) } ?? .http1(), configuration: server, logger: logger)
    }

    /// The reporting API (`GET /stats`, `/stats/timeseries`, `/stats/breakdown`, `/sites`), the dashboard
    /// (`GET /`, `/sites/SITE`, `/assets/*`), `/healthz`, `/readyz`.
    public static func reporting(
        store: any EventStore,
        contract: Contract = .embedded,
        retryAfter: Int = 1,
        access: ReportingAccess? = nil,
        connections: ConnectionLimits? = nil,
        server: ApplicationConfiguration = ApplicationConfiguration(address: .hostname("127.0.0.1", port: 4000)),
        metrics: any MetricsFactory = MetricsSystem.factory,
        exporter: PrometheusExporter? = nil,
        logger: Logger
    ) -> some ApplicationProtocol {
        let (router, methods) = makeRouter(metrics: metrics, exporter: exporter)
        ReportingRoutes(store: store, contract: contract, retryAfter: retryAfter, access: access).register(on: router, methods: methods)
        SitesRoute(store: store, retryAfter: retryAfter, access: access).register(on: router, methods: methods)
        DashboardRoutes(assets: .shared, authRequired: access != nil).register(on: router, methods: methods)
        var checks: [(String, @Sendable () async throws -> Void)] = [("store", { try await store.ping() })]
        if let access { checks.append(("registry", { try await access.view.confirmed(within: access.maximumAge) })) }
        HealthRoutes(checks: checks, timeout: .seconds(2)).register(on: router, methods: methods)
        return Application(router: router, server: connections.map { .http1(limits: $0) } ?? .http1(), configuration: server, logger: logger)
    }

    /// A worker's port (`METRICS_PORT`): `/metrics`, and `/healthz` and `/readyz` (`checks`: the queue and
    /// the store), so that an orchestrator can watch a worker as it watches the APIs.
    public static func workerMetrics(
        exporter: PrometheusExporter,
        checks: [(String, @Sendable () async throws -> Void)],
        connections: ConnectionLimits,
        server: ApplicationConfiguration,
        onServerRunning: @escaping @Sendable (_ port: Int?) async -> Void = { _ in },
        logger: Logger
    ) -> some ApplicationProtocol {
        let (router, methods) = makeRouter(metrics: exporter.factory, exporter: exporter)
        HealthRoutes(checks: checks, timeout: .seconds(2)).register(on: router, methods: methods)
        return Application(
            router: router, server: .http1(limits: connections), configuration: server,
            onServerRunning: { await onServerRunning($0.localAddress?.port) }, logger: logger)
    }

    /// A router with the error body, and with the request metrics and `GET /metrics` when `exporter` is
    /// given. The metrics middleware goes first, so that it sees the answer every other layer made.
    private static func makeRouter(
        metrics: any MetricsFactory, exporter: PrometheusExporter?
    ) -> (Router<AnalyticsRequestContext>, PathMethods) {
        let router = Router(context: AnalyticsRequestContext.self, options: .autoGenerateHeadEndpoints)
        let methods = PathMethods()
        if exporter != nil { router.middlewares.add(HTTPMetricsMiddleware(instruments: HTTPInstruments(factory: metrics))) }
        router.middlewares.add(ErrorBodyMiddleware(methods: methods))
        if let exporter { MetricsRoute(exporter: exporter).register(on: router, methods: methods) }
        return (router, methods)
    }
}
