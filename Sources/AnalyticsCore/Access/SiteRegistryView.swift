import Logging
import Synchronization

/// The registry as the request path reads it: a snapshot in memory, polled for its version every
/// `interval` and reloaded when it moved, so that a change made by the CLI on any machine (a revoked token)
/// reaches every process within `interval` plus one reload. Between polls a request costs a lock-free
/// read of an immutable snapshot, and the registry's store is never on the request path.
///
/// When the store cannot be reached, the last snapshot stays in force (what was allowed stays allowed,
/// what was revoked stays revoked) and `isLoaded` keeps its value; a process that never loaded one refuses
/// what needs it with 503.
public final class SiteRegistryView: Sendable {
    public let registry: any SiteRegistry
    public let interval: Duration
    private let current = Mutex<RegistrySnapshot?>(nil)

    public init(registry: any SiteRegistry, interval: Duration = .seconds(1)) {
        self.registry = registry
        self.interval = interval
    }

    /// The latest snapshot; nil until the first load.
    public var snapshot: RegistrySnapshot? { current.withLock { $0 } }

    /// Loads the registry when its version differs from the snapshot's (or there is none yet).
    public func refresh() async throws {
        let version = try await registry.version()
        if let known = snapshot, known.version == version { return }
        // Read after the version: a change between the two is loaded now and loaded again next poll.
        let (sites, tokens) = (try await registry.sites(), try await registry.tokens())
        let fresh = RegistrySnapshot(version: version, sites: sites, tokens: tokens)
        current.withLock { $0 = fresh }
    }

    /// Refreshes every `interval` until cancelled, logging the start and the end of an outage once each.
    public func run(logger: Logger) async {
        var failing = false
        while !Task.isCancelled {
            do {
                try await refresh()
                if failing { logger.notice("site registry reachable again") }
                failing = false
            } catch {
                if !failing { logger.warning("site registry unreachable; the last one loaded stays in force", metadata: ["error": "\(error)"]) }
                failing = true
            }
            try? await Task.sleep(for: interval)
        }
    }
}

extension SiteRegistryView {
    /// Succeeds once a snapshot is loaded: what readiness checks, rather than the registry's store, whose
    /// outage this process rides out on its last snapshot.
    @Sendable public func loaded() async throws {
        guard snapshot != nil else { throw RegistryError.unavailable("not loaded yet") }
    }
}
