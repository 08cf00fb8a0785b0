/// How long events are kept: `analytics retention --keep 13mo` keeps the current month and the twelve
/// before it, and drops every event before them.
public struct RetentionPolicy: Sendable, Hashable {
    /// Months kept, the current one included; at least 1.
    public let months: Int

    public init?(months: Int) {
        guard months >= 1, months <= 12_000 else { return nil }
        self.months = months
    }

    /// `13mo` (months), or `2y` (years, twelve months each).
    public init?(_ text: String) {
        let lowered = text.lowercased()
        if lowered.hasSuffix("mo"), let count = Int(lowered.dropLast(2)) {
            self.init(months: count)
        } else if lowered.hasSuffix("y"), let count = Int(lowered.dropLast()), count <= 1000 {
            self.init(months: count * 12)
        } else {
            return nil
        }
    }

    /// The first month kept when `now` (microseconds since the epoch) is the time: events before its
    /// first instant go.
    public func firstMonthKept(now: Int64) -> UTCMonth {
        UTCMonth(containing: now).adding(months: -(months - 1))
    }
}

/// What dropping old events did.
public struct RetentionOutcome: Sendable, Hashable {
    /// Events deleted.
    public var events: Int
    /// The sites that had any, sorted by UTF-8 bytes: their reporting indexes are rebuilt.
    public var sites: [String]
    /// Whole months dropped (partitions, in the Postgres store), oldest first.
    public var months: [UTCMonth]

    public init(events: Int, sites: [String], months: [UTCMonth]) {
        self.events = events
        self.sites = sites
        self.months = months
    }
}
