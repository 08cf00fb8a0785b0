import AnalyticsSpec
import JSONSchemaValidation

/// Everything the reporting endpoints need about one site's events, in memory: the events themselves,
/// compactly, by UTC day (for hourly buckets), and, per time zone asked for, an `Aggregate` per local
/// day and month. A value type whose pieces are copied on write one day or month at a time, so a reader
/// can hold a snapshot while the next events are applied to a copy.
public struct SiteIndex: Sendable {
    /// One UTC day's events, as numbers.
    struct RawDay: Sendable {
        var timestamps: [Int64] = []
        var types: [UInt32] = []
        var paths: [UInt32] = []
        var users: [UInt32] = []
    }

    var types = Interner()
    var paths = Interner()
    var users = Interner()
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
        rawDays[day, default: RawDay()].append(timestamp, type, path, user)
        // Not `for name in zones.keys`: that view would share the dictionary and make each change copy it.
        for name in zoneNames { zones[name]!.add(timestamp: timestamp, type: type, path: path, user: user) }
        eventCount += 1
    }

    /// Merges the events added since the last call into the aggregates.
    public mutating func freeze() {
        for name in zoneNames { zones[name]!.freeze(universe: users.count) }
    }

    private var zoneNames: [String] = []

    /// True when `zone`'s aggregates are built.
    public func isPrepared(_ zone: ReportingZone) -> Bool { zones[zone.name] != nil }

    /// The aggregates of `zone`, built from every event the first time it is asked for.
    public mutating func prepare(_ zone: ReportingZone) {
        guard zones[zone.name] == nil else { return }
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

    /// Each event in the instants, as numbers, UTC day by UTC day.
    func forEachEvent(in instants: Range<Int64>, _ body: (Int64, UInt32, UInt32, UInt32) -> Void) {
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
    mutating func append(_ timestamp: Int64, _ type: UInt32, _ path: UInt32, _ user: UInt32) {
        timestamps.append(timestamp)
        types.append(type)
        paths.append(path)
        users.append(user)
    }
}

/// A site's aggregates in one zone: a day is the instants from its start to the next day's start, as
/// `ReportingZone` cuts them, and a month its days.
struct ZoneView: Sendable {
    let zone: ReportingZone
    var days: [Int: Aggregate] = [:]
    var months: [Int: Aggregate] = [:]
    /// Starts of days already computed, by days since the epoch.
    private var dayStarts: [Int: Int64] = [:]
    /// The zone's offset over each quarter hour where it did not change within it.
    private var offsets: [Int64: Int] = [:]

    init(zone: ReportingZone) { self.zone = zone }

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

    /// Merges what `add` gathered into the aggregates it touched.
    mutating func freeze(universe: Int) {
        for day in unfrozenDays { days[day]!.freeze(universe: universe) }
        for month in unfrozenMonths { months[month]!.freeze(universe: universe) }
        unfrozenDays = []
        unfrozenMonths = []
    }

    static func month(of date: CalendarDate) -> Int { date.year * 12 + date.month - 1 }

    mutating func startOfDay(_ day: Int) -> Int64 {
        if let start = dayStarts[day] { return start }
        let start = zone.startOfDay(CalendarDate(daysSinceEpoch: day))
        dayStarts[day] = start
        return start
    }

    /// The day whose instants hold `timestamp`: its local date, moved by one where a day's start is
    /// not its local midnight (the clocks skipped or repeated it).
    private mutating func day(of timestamp: Int64) -> Int {
        let second = floorDivide(timestamp, 1_000_000)
        let quarter = floorDivide(second, 900)
        let offset: Int
        if let known = offsets[quarter] {
            offset = known
        } else {
            let atStart = zone.offsetSeconds(atMicroseconds: quarter * 900_000_000)
            let atEnd = zone.offsetSeconds(atMicroseconds: (quarter * 900 + 899) * 1_000_000)
            if atStart == atEnd { offsets[quarter] = atStart }
            offset = atStart == atEnd ? atStart : zone.offsetSeconds(atMicroseconds: timestamp)
        }
        var day = Int(floorDivide(second + Int64(offset), 86_400))
        if timestamp < startOfDay(day) { day -= 1 } else if timestamp >= startOfDay(day + 1) { day += 1 }
        return day
    }
}

func floorDivide(_ value: Int64, _ divisor: Int64) -> Int64 {
    value >= 0 ? value / divisor : (value - divisor + 1) / divisor
}
