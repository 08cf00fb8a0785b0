import AnalyticsSpec
import JSONSchemaValidation
import Synchronization

/// Everything the reporting endpoints need about one site's events, in memory: the events themselves,
/// compactly, by UTC day, with each UTC hour's `HourAggregate` (for hourly buckets), and, per time zone
/// asked for, an `Aggregate` per local day and month. A value type whose pieces are copied on write one
/// day or month at a time, so a reader can hold a snapshot while the next events are applied to a copy.
public struct SiteIndex: Sendable {
    /// One UTC day's events, as numbers, and its 24 hours' aggregates.
    struct RawDay: Sendable {
        var timestamps: [Int64] = []
        var types: [UInt32] = []
        var paths: [UInt32] = []
        var users: [UInt32] = []
        var hours = [HourAggregate](repeating: HourAggregate(), count: 24)
    }

    let types = Interner()
    let paths = Interner()
    let users = Interner()
    var rawDays: [Int: RawDay] = [:]
    var zones: [String: ZoneView] = [:]
    /// Events applied.
    public private(set) var eventCount = 0

    public init() {}

    /// Adds events of this site. The caller makes sure no event is applied twice.
    public mutating func apply(_ events: some Sequence<Event>) {
        for event in events { add(timestamp: event.timestamp, eventType: event.eventType, path: event.path, userID: event.userID) }
        freeze()
    }

    /// Adds one event of this site; `freeze()` before the next query. The caller makes sure no event is
    /// added twice.
    public mutating func add(timestamp: Int64, eventType: String, path: String, userID: String?) {
        let type = types.number(for: eventType)
        let path = paths.number(for: path)
        let user = userID.map { users.number(for: $0) } ?? 0
        let day = Int(floorDivide(timestamp, 86_400_000_000))
        rawDays[day, default: RawDay()].append(timestamp, type, path, user, hour: Int(floorDivide(timestamp, 3_600_000_000)) - day * 24)
        unfrozenDays.insert(day)
        // Not `for name in zones.keys`: that view would share the dictionary and make each change copy it.
        for name in zoneNames { zones[name]!.add(timestamp: timestamp, type: type, path: path, user: user) }
        eventCount += 1
    }

    /// Merges the events added since the last call into the aggregates.
    public mutating func freeze() {
        for day in unfrozenDays { rawDays[day]!.freezeHours() }
        unfrozenDays = []
        for name in zoneNames { zones[name]!.freeze(universe: users.count) }
    }

    /// UTC days with hours not yet frozen.
    private var unfrozenDays: Set<Int> = []

    private var zoneNames: [String] = []

    /// The zones whose aggregates are built, in the order they were.
    public var preparedZones: [String] { zoneNames }

    /// Drops a zone's aggregates (to bound memory); asking for it again builds them again.
    public mutating func removeZone(named name: String) {
        zones[name] = nil
        zoneNames.removeAll { $0 == name }
    }

    /// True when `zone`'s aggregates are built.
    public func isPrepared(_ zone: ReportingZone) -> Bool { zones[zone.name] != nil }

    /// Most zones whose aggregates a site keeps at once; each costs about as much memory as the events.
    public static let maximumZones = 4

    /// The aggregates of `zone`, built from every event the first time it is asked for. Past
    /// `maximumZones`, the zone prepared longest ago (UTC last) is dropped to make room.
    public mutating func prepare(_ zone: ReportingZone) {
        guard zones[zone.name] == nil else { return }
        if zoneNames.count >= Self.maximumZones,
            let oldest = zoneNames.firstIndex(where: { $0 != ReportingZone.utc.name }) ?? zoneNames.indices.first
        {
            zones[zoneNames.remove(at: oldest)] = nil
        }
        var view = ZoneView(zone: zone)
        for day in rawDays.keys.sorted() {
            let raw = rawDays[day]!
            for index in raw.timestamps.indices {
                view.add(timestamp: raw.timestamps[index], type: raw.types[index], path: raw.paths[index], user: raw.users[index])
            }
        }
        view.freeze(universe: users.count)
        zones[zone.name] = view
        zoneNames.append(zone.name)
    }

    /// A new index of the events of this one that `keep` accepts (given each event's timestamp and user),
    /// with the same zones prepared: what erasing or dropping events leaves, rebuilt rather than taken
    /// out of the aggregates, whose distinct-user sets cannot lose a member.
    public func keeping(_ keep: (_ timestamp: Int64, _ userID: String?) -> Bool) -> SiteIndex {
        var index = SiteIndex()
        for day in rawDays.keys.sorted() {
            let raw = rawDays[day]!
            for position in raw.timestamps.indices {
                let user = raw.users[position] == 0 ? nil : users.text(raw.users[position])
                guard keep(raw.timestamps[position], user) else { continue }
                index.add(
                    timestamp: raw.timestamps[position], eventType: types.text(raw.types[position]), path: paths.text(raw.paths[position]),
                    userID: user)
            }
        }
        index.freeze()
        for name in zoneNames { if let zone = zones[name]?.zone { index.prepare(zone) } }
        return index
    }

    /// Each event in the instants, as numbers, UTC day by UTC day.
    func forEachEvent(in instants: Range<Int64>, _ body: (Int64, UInt32, UInt32, UInt32) -> Void) {
        guard !instants.isEmpty else { return }
        let first = Int(floorDivide(instants.lowerBound, 86_400_000_000))
        let last = Int(floorDivide(instants.upperBound - 1, 86_400_000_000))
        // A long range over few days with events: walk the days that exist.
        let days = last - first + 1 > rawDays.count ? rawDays.keys.filter { (first...last).contains($0) }.sorted() : Array(first...last)
        for day in days {
            guard let raw = rawDays[day] else { continue }
            for index in raw.timestamps.indices where instants.contains(raw.timestamps[index]) {
                body(raw.timestamps[index], raw.types[index], raw.paths[index], raw.users[index])
            }
        }
    }
}

extension SiteIndex.RawDay {
    mutating func append(_ timestamp: Int64, _ type: UInt32, _ path: UInt32, _ user: UInt32, hour: Int) {
        timestamps.append(timestamp)
        types.append(type)
        paths.append(path)
        users.append(user)
        hours[hour].add(type: type, user: user)
    }

    mutating func freezeHours() {
        for hour in hours.indices where hours[hour].needsFreeze { hours[hour].freeze() }
    }
}

/// A site's aggregates in one zone: a day is the instants from its start to the next day's start, as
/// `ReportingZone` cuts them, and a month its days.
struct ZoneView: Sendable {
    let zone: ReportingZone
    var days: [Int: Aggregate] = [:]
    var months: [Int: Aggregate] = [:]
    private let rules: ZoneRulesCache

    init(zone: ReportingZone) {
        self.zone = zone
        rules = ZoneRulesCache(zone)
    }

    /// Days and months with events not yet merged in.
    private var unfrozenDays: Set<Int> = []
    private var unfrozenMonths: Set<Int> = []

    mutating func add(timestamp: Int64, type: UInt32, path: UInt32, user: UInt32) {
        let day = day(of: timestamp)
        let month = Self.month(of: CalendarDate(daysSinceEpoch: day))
        days[day, default: Aggregate()].add(type: type, path: path, user: user)
        months[month, default: Aggregate()].add(type: type, path: path, user: user)
        unfrozenDays.insert(day)
        unfrozenMonths.insert(month)
    }

    /// Each day's `DayRecency`, for ranges of up to `Recency.window` days.
    var recency: [Int: DayRecency] = [:]
    /// What the newest days' new users look up (nil until a refresh needs them, and after a walk).
    var recentUsers: (cells: RecentUsers, paths: RecentUsers)?

    /// Merges what `add` gathered into the aggregates it touched.
    mutating func freeze(universe: Int) {
        // The runs of the changed days as they were, whose users keep their gaps.
        var previous: [Int: KeyedRuns] = [:]
        for day in unfrozenDays { previous[day] = days[day]!.runs }
        for day in unfrozenDays { days[day]!.freeze(universe: universe) }
        for month in unfrozenMonths { months[month]!.freeze(universe: universe) }
        updateRecency(touched: unfrozenDays, previous: previous, universe: universe)
        unfrozenDays = []
        unfrozenMonths = []
    }

    static func month(of date: CalendarDate) -> Int { date.year * 12 + date.month - 1 }

    /// The day whose instants hold `timestamp`: its local date, moved by one where a day's start is
    /// not its local midnight (the clocks skipped or repeated it).
    private func day(of timestamp: Int64) -> Int {
        let second = floorDivide(timestamp, 1_000_000)
        var day = Int(floorDivide(second + Int64(rules.offset(at: timestamp)), 86_400))
        if timestamp < rules.startOfDay(day) { day -= 1 } else if timestamp >= rules.startOfDay(day + 1) { day += 1 }
        return day
    }
}

/// A zone's offsets and starts of days as they are looked up, shared by every version of a zone view:
/// asking Foundation once per quarter hour and day rather than once per event.
final class ZoneRulesCache: Sendable {
    private struct State {
        /// Starts of days, by days since the epoch.
        var dayStarts: [Int: Int64] = [:]
        /// The offset over each quarter hour where it did not change within it.
        var offsets: [Int64: Int] = [:]
    }

    private let zone: ReportingZone
    private let state = Mutex(State())

    init(_ zone: ReportingZone) { self.zone = zone }

    func startOfDay(_ day: Int) -> Int64 {
        if let start = state.withLock({ $0.dayStarts[day] }) { return start }
        let start = zone.startOfDay(CalendarDate(daysSinceEpoch: day))
        state.withLock { $0.dayStarts[day] = start }
        return start
    }

    func offset(at timestamp: Int64) -> Int {
        let quarter = floorDivide(floorDivide(timestamp, 1_000_000), 900)
        if let known = state.withLock({ $0.offsets[quarter] }) { return known }
        let atStart = zone.offsetSeconds(atMicroseconds: quarter * 900_000_000)
        let atEnd = zone.offsetSeconds(atMicroseconds: (quarter * 900 + 899) * 1_000_000)
        guard atStart == atEnd else { return zone.offsetSeconds(atMicroseconds: timestamp) }
        state.withLock { $0.offsets[quarter] = atStart }
        return atStart
    }
}

func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    value >= 0 ? value / divisor : (value - divisor + 1) / divisor
}
