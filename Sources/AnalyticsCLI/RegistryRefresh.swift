import AnalyticsCore
import AnalyticsPostgres
import Logging
import ServiceLifecycle

/// Keeps a process's view of the site registry current while it serves: a first load before the
/// servers take requests, then a poll every second until shutdown.
struct RegistryRefresh: Service {
    let view: SiteRegistryView
    let logger: Logger

    /// Loads the registry once, logging (not failing) when it cannot: the poll keeps trying, and requests
    /// that need it are answered 503 meanwhile.
    static func start(_ registry: any SiteRegistry, logger: Logger) async -> RegistryRefresh {
        let view = SiteRegistryView(registry: registry)
        do {
            try await view.refresh()
        } catch {
            logger.warning("site registry not loaded yet; retrying every second", metadata: ["error": "\(error)"])
        }
        return RegistryRefresh(view: view, logger: logger)
    }

    func run() async throws {
        await cancelWhenGracefulShutdown { await view.run(logger: logger) }
    }
}

extension PostgresSiteRegistry: ClosableBackend {}
