import AnalyticsCore
import AnalyticsSpec
import Hummingbird
import Logging

/// Builds the two HTTP services.
public enum Applications {
    /// The ingestion API: `POST /event`, `POST /events`, `/healthz`, `/readyz`.
    public static func ingestion(
        queue: any EventQueue,
        clock: any WallClock = SystemClock(),
        contract: Contract = .embedded,
        configuration: IngestionConfiguration = IngestionConfiguration(),
        server: ApplicationConfiguration = ApplicationConfiguration(address: .hostname("127.0.0.1", port: 3000)),
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router(options: .autoGenerateHeadEndpoints)
        let methods = PathMethods()
        router.middlewares.add(ErrorBodyMiddleware(methods: methods))
        IngestionRoutes(queue: queue, clock: clock, decoder: EventDecoder(contract: contract), configuration: configuration)
            .register(on: router, methods: methods)
        HealthRoutes(checks: [("queue", { try await queue.ping() })], timeout: .seconds(2)).register(on: router, methods: methods)
        return Application(router: router, configuration: server, logger: logger)
    }

    /// The reporting API: `GET /stats`, `/healthz`, `/readyz`.
    public static func reporting(
        store: any EventStore,
        contract: Contract = .embedded,
        retryAfter: Int = 1,
        server: ApplicationConfiguration = ApplicationConfiguration(address: .hostname("127.0.0.1", port: 4000)),
        logger: Logger
    ) -> some ApplicationProtocol {
        let router = Router(options: .autoGenerateHeadEndpoints)
        let methods = PathMethods()
        router.middlewares.add(ErrorBodyMiddleware(methods: methods))
        ReportingRoutes(store: store, contract: contract, retryAfter: retryAfter).register(on: router, methods: methods)
        HealthRoutes(checks: [("store", { try await store.ping() })], timeout: .seconds(2)).register(on: router, methods: methods)
        return Application(router: router, configuration: server, logger: logger)
    }
}
