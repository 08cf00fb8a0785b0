import AnalyticsSpec
import Synchronization

/// The (site, event type, user) keys this process has seen committed to `site_users`.
///
/// Rows of `site_users` are never deleted, so a key in this set needs no look-up: a batch probes only the
/// keys missing here, and a returning user costs the worker nothing in Postgres. The set only saves
/// work; a key missing from it is looked up as before. When it reaches `capacity` it starts again empty.
final class KnownUsers: Sendable {
    typealias Key = RollupKey

    let capacity: Int
    private let keys = Mutex(Set<Key>())
    private let generations = Atomic<UInt64>(0)

    init(capacity: Int) {
        self.capacity = capacity
    }

    var count: Int { keys.withLock { $0.count } }

    /// The distinct keys of `events` that are not known to be committed.
    func unknown(in events: [Event]) -> [Key] {
        var seen = Set<Key>(minimumCapacity: events.count)
        var unknown: [Key] = []
        keys.withLock { known in
            for event in events {
                guard let userID = event.userID else { continue }
                let key = Key(event.siteID, event.eventType, userID)
                if !known.contains(key), seen.insert(key).inserted { unknown.append(key) }
            }
        }
        return unknown
    }

    /// Counts `forgetAll` calls; read before a batch is inserted, so that keys committed before a
    /// reconnection are not recorded after it.
    var generation: UInt64 { generations.load(ordering: .acquiring) }

    /// Forgets every key: what was committed on one server says nothing of another.
    func forgetAll() {
        keys.withLock { known in
            generations.add(1, ordering: .releasing)
            known.removeAll()
        }
    }

    /// The distinct keys of `events`, known or not.
    static func keys(of events: [Event]) -> [Key] {
        var seen = Set<Key>(minimumCapacity: events.count)
        var keys: [Key] = []
        for event in events {
            guard let userID = event.userID else { continue }
            let key = Key(event.siteID, event.eventType, userID)
            if seen.insert(key).inserted { keys.append(key) }
        }
        return keys
    }

    /// Records keys whose rows are committed, unless `forgetAll` was called since `generation` was read.
    func insert(_ committed: [Key], ifStill generation: UInt64) {
        guard capacity > 0 else { return }
        keys.withLock { known in
            guard generations.load(ordering: .acquiring) == generation else { return }
            if known.count + committed.count > capacity { known.removeAll(keepingCapacity: true) }
            for key in committed.prefix(capacity) { known.insert(key) }
        }
    }
}
