import Synchronization

/// One day's users of each key, ascending within a key: the layout of `Aggregate`'s (type, path) cells,
/// and of `DayRecency`'s paths over every type.
struct KeyedRuns: Sendable {
    var keys: [UInt64] = []
    /// Key i's users are `users[starts[i]..<starts[i + 1]]`.
    var starts: [Int32] = [0]
    var users: [UInt32] = []

    /// The range in `users` of `key`'s run, nil when the day has no such key.
    func run(of key: UInt64) -> Range<Int>? {
        let index = keys.lowerBound(of: key)
        guard index < keys.count, keys[index] == key else { return nil }
        return Int(starts[index])..<Int(starts[index + 1])
    }
}

/// How recently each user of a day's key had the same key before: for every (key, user) of the day,
/// the days back to that user's previous day with the key, or `Recency.none` when there was none within
/// `Recency.window` days.
///
/// What it buys: the distinct users of a key over days `from...to` are the (day, user) pairs of those
/// days whose previous day falls before `from`, a user counting on the first day of the range they
/// appear. That is a count over each day's run of small numbers, read in order, where a union of the
/// days' user sets touches a bitmap at random once per member: a 30-day page of a breakdown at
/// 10,000,000 events holds about 550,000 of them, and almost every one is a different user.
struct DayRecency: Sendable {
    /// Aligned with the day aggregate's cell users: (type, path) keys.
    var cellGaps: [UInt8] = []
    /// Each path's users over every type, keyed by path number, and their gaps.
    var paths = KeyedRuns()
    var pathGaps: [UInt8] = []
}

enum Recency {
    /// The longest range, in days, that recency answers; longer ones take unions of months and days.
    static let window = 62
    /// No previous day within the window.
    static let none: UInt8 = 255

    /// The paths of an aggregate's cells over every type, each with its users: each path's cells (one
    /// per type, found by a cursor in each type's cells, which are in path order) merged.
    static func pathRuns(of aggregate: Aggregate) -> KeyedRuns {
        let cells = aggregate.cells
        let starts = aggregate.userStarts
        // Each type's cells: their range in `cells`.
        var typeRanges: [Range<Int>] = []
        var index = 0
        while index < cells.count {
            let type = Aggregate.type(of: cells[index])
            let end = cells.lowerBound(of: Aggregate.cell(type: type + 1, path: 0))
            typeRanges.append(index..<end)
            index = end
        }
        var runs = KeyedRuns()
        runs.users.reserveCapacity(aggregate.cellUsers.count)
        var cursors = typeRanges.map(\.lowerBound)
        var merged: [UInt32] = []
        aggregate.cellUsers.withUnsafeBufferPointer { users in
            while true {
                // The least path any type has left.
                var path = UInt32.max
                var any = false
                for (type, range) in typeRanges.enumerated() where cursors[type] < range.upperBound {
                    path = min(path, Aggregate.path(of: cells[cursors[type]]))
                    any = true
                }
                guard any else { break }
                merged.removeAll(keepingCapacity: true)
                var single: Range<Int>? = nil
                var count = 0
                for (type, range) in typeRanges.enumerated() where cursors[type] < range.upperBound && Aggregate.path(of: cells[cursors[type]]) == path {
                    let run = Int(starts[cursors[type]])..<Int(starts[cursors[type] + 1])
                    single = run
                    count += 1
                    merged += users[run]
                    cursors[type] += 1
                }
                if count == 1, let single {
                    runs.users += users[single]
                } else {
                    merged.sort()
                    var previous: UInt32? = nil
                    for user in merged where user != previous {
                        runs.users.append(user)
                        previous = user
                    }
                }
                runs.keys.append(UInt64(path))
                runs.starts.append(Int32(runs.users.count))
            }
        }
        return runs
    }

    /// The gaps of the users of each target day, given the runs of every day of `span` (ascending day
    /// numbers) that holds a target day or lies within `window` days before one. Each key of the targets
    /// is walked through the span's days in order with the day its users were last seen, so the cost is
    /// the members of those runs, whatever order the days' events arrived in.
    static func gaps(span: [(day: Int, runs: KeyedRuns)], targets: Set<Int>, universe: Int) -> [Int: [UInt8]] {
        guard let first = span.first?.day else { return [:] }
        let flat = FlatSpan(span)
        var keys: [UInt64] = []
        for (position, day) in span.enumerated() where targets.contains(day.day) { keys += flat.keys[flat.keyStarts[position]..<flat.keyStarts[position + 1]] }
        keys.sort()
        let isTarget = span.map { targets.contains($0.day) }
        // The gaps of every user of the span, of which the targets' are kept.
        var gaps = [UInt8](repeating: none, count: flat.users.count)
        var cursors = Array(flat.keyStarts.dropLast())
        var seen = takeScratch(size: universe + 1)
        defer { giveBack(seen) }
        let window = UInt64(Self.window)
        var previousKey: UInt64? = nil
        gaps.withUnsafeMutableBufferPointer { gaps in
            seen.withUnsafeMutableBufferPointer { seen in
                flat.withPointers { spanKeys, starts, users in
                    for key in keys where key != previousKey {
                        previousKey = key
                        let stamp = stamps.add(1, ordering: .relaxed).newValue << 24
                        for position in span.indices {
                            var cursor = cursors[position]
                            let end = flat.keyStarts[position + 1]
                            while cursor < end, spanKeys[cursor] < key { cursor += 1 }
                            cursors[position] = cursor
                            guard cursor < end, spanKeys[cursor] == key else { continue }
                            let day = UInt64(span[position].day - first)
                            let target = isTarget[position]
                            for index in starts[cursor]..<starts[cursor + 1] {
                                let user = Int(users[index])
                                let last = seen[user]
                                if target, last & ~0xFF_FFFF == stamp, day - (last & 0xFF_FFFF) <= window {
                                    gaps[index] = UInt8(day - (last & 0xFF_FFFF))
                                }
                                seen[user] = stamp | day
                            }
                        }
                    }
                }
            }
        }
        var byDay: [Int: [UInt8]] = [:]
        for (position, day) in span.enumerated() where isTarget[position] {
            byDay[day.day] = Array(gaps[flat.starts[flat.keyStarts[position]]..<flat.starts[flat.keyStarts[position + 1]]])
        }
        return byDay
    }

    /// The members of `gaps` above `threshold`: the users of a run whose previous day with the key is
    /// more than `threshold` days back. Sixteen at a time: a run of the most visited path holds
    /// thousands.
    static func count(_ gaps: UnsafeBufferPointer<UInt8>, above threshold: UInt8) -> Int {
        guard let base = gaps.baseAddress else { return 0 }
        let limit = SIMD16<UInt8>(repeating: threshold)
        let one = SIMD16<UInt8>(repeating: 1)
        var count = 0
        var index = 0
        while index + 16 <= gaps.count {
            // Lanes count to at most 255 before they are added up.
            var lanes = SIMD16<UInt8>()
            let end = min(gaps.count - 15, index + 255 * 16)
            while index < end {
                let chunk = UnsafeRawPointer(base + index).loadUnaligned(as: SIMD16<UInt8>.self)
                lanes &+= one & SIMD16<UInt8>(truncatingIfNeeded: SIMD16<Int8>(repeating: 0).replacing(with: -1, where: chunk .> limit))
                index += 16
            }
            for lane in 0..<16 { count &+= Int(lanes[lane]) }
        }
        while index < gaps.count {
            count &+= Int(truncatingIfNeeded: (UInt16(threshold) &- UInt16(gaps[index])) >> 15)
            index += 1
        }
        return count
    }

    /// A day number per user, stamped with the key being walked, reused from one computation to the
    /// next: allocating and zeroing a user-sized array each time would cost as much as the walk. The
    /// stamps are shared by every such array (which start zeroed), so a value left by another walk never
    /// passes for this one's; 40 bits of them last 10^12 keys.
    private static let spare = Mutex<[UInt64]?>(nil)
    static let stamps = Atomic<UInt64>(0)

    static func takeScratch(size: Int) -> [UInt64] {
        var seen = spare.withLock { spare -> [UInt64]? in
            defer { spare = nil }
            return spare
        } ?? []
        if seen.count < size { seen += [UInt64](repeating: 0, count: size - seen.count) }
        return seen
    }

    static func giveBack(_ seen: [UInt64]) {
        spare.withLock { spare in
            if (spare?.count ?? 0) < seen.count { spare = seen }
        }
    }
}

/// The runs of consecutive days in one set of arrays, so that a walk over them reads memory without
/// counting references to each day's arrays.
struct FlatSpan {
    /// Day i's keys are `keys[keyStarts[i]..<keyStarts[i + 1]]`.
    var keyStarts: [Int] = [0]
    var keys: [UInt64] = []
    /// Key j's users are `users[starts[j]..<starts[j + 1]]`.
    var starts: [Int] = [0]
    var users: [UInt32] = []

    init(_ span: [(day: Int, runs: KeyedRuns)]) {
        let keyCount = span.reduce(0) { $0 + $1.runs.keys.count }
        keys.reserveCapacity(keyCount)
        starts.reserveCapacity(keyCount + 1)
        users.reserveCapacity(span.reduce(0) { $0 + $1.runs.users.count })
        for (_, runs) in span {
            let base = users.count
            keys += runs.keys
            for index in runs.keys.indices { starts.append(base + Int(runs.starts[index + 1])) }
            users += runs.users
            keyStarts.append(keys.count)
        }
    }

    func withPointers<T>(_ body: (UnsafeBufferPointer<UInt64>, UnsafeBufferPointer<Int>, UnsafeBufferPointer<UInt32>) -> T) -> T {
        keys.withUnsafeBufferPointer { keys in
            starts.withUnsafeBufferPointer { starts in users.withUnsafeBufferPointer { users in body(keys, starts, users) } }
        }
    }
}

/// For each key, the users it had in the `window` days up to the day before yesterday (`newest - 2`),
/// each with the last of those days: what the users of the two newest days look up for their gaps while
/// live traffic adds to those days alone (today's events, and yesterday's arriving late for a few minutes
/// after midnight), instead of walking the window's runs at every refresh. Built once for each newest
/// day.
struct RecentUsers: Sendable {
    /// The newest day this serves.
    let newest: Int
    private var runs = KeyedRuns()
    /// Aligned with `runs.users`.
    private var lastDays: [Int32] = []

    /// `span`: the runs of the days from `newest - 1 - window` to `newest - 2` that have events, ascending.
    init(newest: Int, span: [(day: Int, runs: KeyedRuns)], universe: Int) {
        self.newest = newest
        let flat = FlatSpan(span)
        var keys = flat.keys
        keys.sort()
        var cursors = Array(flat.keyStarts.dropLast())
        var seen = Recency.takeScratch(size: universe + 1)
        defer { Recency.giveBack(seen) }
        var pairs: [UInt64] = []
        var previousKey: UInt64? = nil
        seen.withUnsafeMutableBufferPointer { seen in
            flat.withPointers { spanKeys, starts, users in
                for key in keys where key != previousKey {
                    previousKey = key
                    let stamp = Recency.stamps.add(1, ordering: .relaxed).newValue << 24
                    pairs.removeAll(keepingCapacity: true)
                    // Latest day first: a user's first sighting is its last day.
                    for position in span.indices.reversed() {
                        var cursor = cursors[position]
                        let end = flat.keyStarts[position + 1]
                        while cursor < end, spanKeys[cursor] < key { cursor += 1 }
                        cursors[position] = cursor
                        guard cursor < end, spanKeys[cursor] == key else { continue }
                        let offset = UInt64(newest - span[position].day)
                        for index in starts[cursor]..<starts[cursor + 1] {
                            let user = Int(users[index])
                            guard seen[user] & ~0xFF_FFFF != stamp else { continue }
                            seen[user] = stamp
                            pairs.append(UInt64(user) << 32 | offset)
                        }
                    }
                    pairs.sort()
                    runs.keys.append(key)
                    for pair in pairs {
                        runs.users.append(UInt32(pair >> 32))
                        lastDays.append(Int32(newest) - Int32(truncatingIfNeeded: pair))
                    }
                    runs.starts.append(Int32(runs.users.count))
                }
            }
        }
    }

    /// The gaps of the users of `runs` (the runs of `day`, the newest or the one before): 1 for a user
    /// `dayBefore` holds (the runs of the day before, given for the newest day), else the days back to
    /// the user's last day here within the window. Users of `previous` (the day's runs before its latest
    /// events) keep their gaps from `previousGaps` when given, so a refresh looks up only its new users.
    func gaps(of today: KeyedRuns, day: Int, dayBefore: KeyedRuns?, previous: KeyedRuns, previousGaps: [UInt8]?) -> [UInt8] {
        var gaps = [UInt8](repeating: Recency.none, count: today.users.count)
        var previousKey = 0
        var beforeKey = 0
        let before = dayBefore ?? KeyedRuns()
        for (index, key) in today.keys.enumerated() {
            while previousKey < previous.keys.count, previous.keys[previousKey] < key { previousKey += 1 }
            var old = previousGaps != nil && previousKey < previous.keys.count && previous.keys[previousKey] == key
                ? Int(previous.starts[previousKey])..<Int(previous.starts[previousKey + 1]) : 0..<0
            while beforeKey < before.keys.count, before.keys[beforeKey] < key { beforeKey += 1 }
            var yesterday = beforeKey < before.keys.count && before.keys[beforeKey] == key
                ? Int(before.starts[beforeKey])..<Int(before.starts[beforeKey + 1]) : 0..<0
            let run = runs.run(of: key) ?? 0..<0
            var low = run.lowerBound
            for position in Int(today.starts[index])..<Int(today.starts[index + 1]) {
                let user = today.users[position]
                while !old.isEmpty, previous.users[old.lowerBound] < user { old = old.dropFirst() }
                if !old.isEmpty, previous.users[old.lowerBound] == user {
                    gaps[position] = previousGaps![old.lowerBound]
                    continue
                }
                while !yesterday.isEmpty, before.users[yesterday.lowerBound] < user { yesterday = yesterday.dropFirst() }
                if !yesterday.isEmpty, before.users[yesterday.lowerBound] == user {
                    gaps[position] = 1
                    continue
                }
                // Both ascending: each search starts where the last ended.
                var high = run.upperBound
                while low < high {
                    let middle = (low + high) / 2
                    if runs.users[middle] < user { low = middle + 1 } else { high = middle }
                }
                if low < run.upperBound, runs.users[low] == user, day - Int(lastDays[low]) <= Recency.window {
                    gaps[position] = UInt8(day - Int(lastDays[low]))
                }
            }
        }
        return gaps
    }
}
