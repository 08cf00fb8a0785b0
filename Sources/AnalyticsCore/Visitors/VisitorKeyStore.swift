import AnalyticsSpec
import JSONSchemaValidation

/// Where the day's visitor key is kept: made at random by the first process that needs it, the same for
/// every ingestion process that day, and gone after `VisitorKeyStore.lifetime`. The key never goes
/// near the events: without it, a visitor id cannot be traced back to an address (docs/tracker.md).
public protocol VisitorKeyStore: Sendable {
    /// The key of `day` (UTC): `VisitorKeys.keyBytes` random bytes, made now when no process made it yet.
    func key(for day: CalendarDate) async throws -> [UInt8]
}

extension VisitorKeyStore {
    /// How long a day's key is kept after it was made: the day and the next, so that a process whose clock
    /// is behind still finds it, and no longer.
    public static var lifetime: Duration { .seconds(2 * 86_400) }
}
