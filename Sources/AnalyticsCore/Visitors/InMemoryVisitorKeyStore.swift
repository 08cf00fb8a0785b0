import AnalyticsSpec
import JSONSchemaValidation
import Synchronization

/// The day's visitor keys of one process (`serve --in-memory`, tests, and the default of an ingestion
/// application given no store; beside the protocol because that default needs it): made on first use, the two
/// latest days kept.
public final class InMemoryVisitorKeyStore: VisitorKeyStore {
    private let keys = Mutex<[CalendarDate: [UInt8]]>([:])

    public init() {}

    public func key(for day: CalendarDate) async throws -> [UInt8] {
        keys.withLock { keys in
            if let key = keys[day] { return key }
            let key = VisitorKeys.newKey()
            keys[day] = key
            for old in keys.keys.sorted().dropLast(2) { keys[old] = nil }
            return keys[day] ?? key
        }
    }
}
