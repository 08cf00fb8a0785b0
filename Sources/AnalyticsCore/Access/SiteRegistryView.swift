import Logging
import Synchronization

/// The registry as the request path reads it: a snapshot in memory, polled for its version every
/// `interval` and reloaded when it moved, so that a change made by the CLI on any machine (a revoked token)
/// reaches every process within `interval` plus one reload. Between polls a request costs a lock-free
/// read of an immutable snapshot, and the registry's store is never on the request path.
///
/// When the store cannot be reached, the last snapshot stays in force (what was allowed stays allowed,
/// what was revoked stays revoked); `snapshot(maximumAge:)` lets a caller refuse to trust one that has not
/// been confirmed for too long (reporting does, so that a revocation cannot go unseen for longer).
public final class SiteRegistryView: Sendable {
    public let registry: any SiteRegistry
    public let interval: Duration
    private let now: @Sendable () -> ContinuousClock.Instant
    private let current = Mutex<(snapshot: RegistrySnapshot, confirmed: ContinuousClock.Instant)?>(nil)

    /// `now` tells the time snapshots are confirmed at and aged by: the continuous clock, or a test's.
    public init(registry: any SiteRegistry, interval: Duration = .seconds(1), now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }) {
        self.registry = registry
        self.interval = interval
        self.now = now
    }

    /// The latest snapshot; nil until the first load.
    public var snapshot: RegistrySnapshot? { current.withLock { $0?.snapshot } }

    /// The latest snapshot if the registry confirmed it (loaded it, or answered the same version) within
    /// `maximumAge`; nil otherwise.
    public func snapshot(maximumAge: Duration) -> RegistrySnapshot? {
        current.withLock { state in
            guard let state, now() - state.confirmed <= maximumAge else { return nil }
            return state.snapshot
        }
    }

    /// Loads the registry when its version differs from the snapshot's (or there is none yet).
    public func refresh() async throws {
        let asked = now()
        let version = try await registry.version()
        if let known = snapshot, known.version == version {
            current.withLock { $0?.confirmed = asked }
            return
        }
        let fresh = try await registry.snapshot()
        current.withLock { $0 = (fresh, asked) }
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
    /// Succeeds once a snapshot is loaded: what ingestion's readiness checks, rather than the registry's
    /// store, whose outage it rides out on its last snapshot.
    @Sendable public func loaded() async throws {
        guard snapshot != nil else { throw RegistryError.unavailable("not loaded yet") }
    }

    /// Succeeds while a snapshot confirmed within `maximumAge` is at hand: what reporting's readiness checks.
    public func confirmed(within maximumAge: Duration) async throws {
        guard snapshot(maximumAge: maximumAge) != nil else { throw RegistryError.unavailable("not confirmed for \(maximumAge)") }
    }
}
