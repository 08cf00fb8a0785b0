import AnalyticsSpec
import Synchronization

/// The (site, event type, user) keys this process has seen committed to `site_users`.
///
/// Rows of `site_users` are never deleted, so a key in this set needs no look-up: a batch probes only the
/// keys missing here, and a returning user costs the worker nothing in Postgres. The set only saves
/// work; a key missing from it is looked up as before. When it reaches `capacity` it starts again empty.
final class KnownUsers: Sendable {
    /// Compared byte for byte, as Postgres compares them: Swift's `==` on strings would take "café" in its
    /// composed and decomposed forms for one user.
    struct Key: Hashable, Sendable {
        var siteID: String
        var eventType: String
        var userID: String

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.siteID.utf8.elementsEqual(rhs.siteID.utf8) && lhs.eventType.utf8.elementsEqual(rhs.eventType.utf8)
                && lhs.userID.utf8.elementsEqual(rhs.userID.utf8)
        }

        func hash(into hasher: inout Hasher) {
            Self.combine(siteID, into: &hasher)
            Self.combine(eventType, into: &hasher)
            Self.combine(userID, into: &hasher)
        }

        private static func combine(_ text: String, into hasher: inout Hasher) {
            hasher.combine(text.utf8.count)
            let contiguous: Void? = text.utf8.withContiguousStorageIfAvailable { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
            if contiguous == nil {
                for byte in text.utf8 { hasher.combine(byte) }
            }
        }
    }

    let capacity: Int
    private let keys = Mutex(Set<Key>())

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
                let key = Key(siteID: event.siteID, eventType: event.eventType, userID: userID)
                if !known.contains(key), seen.insert(key).inserted { unknown.append(key) }
            }
        }
        return unknown
    }

    /// Records keys whose rows are committed.
    func insert(_ committed: [Key]) {
        guard capacity > 0 else { return }
        keys.withLock { known in
            if known.count + committed.count > capacity { known.removeAll(keepingCapacity: true) }
            for key in committed.prefix(capacity) { known.insert(key) }
        }
    }
}
