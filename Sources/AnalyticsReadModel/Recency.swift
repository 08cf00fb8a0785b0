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

    /// The index in `users` of `user` in `key`'s run, nil when the day has no such pair.
    func position(of key: UInt64, user: UInt32) -> Int? {
        guard let run = run(of: key) else { return nil }
        var low = run.lowerBound
        var high = run.upperBound
        while low < high {
            let middle = (low + high) / 2
            if users[middle] < user { low = middle + 1 } else { high = middle }
        }
        return low < run.upperBound && users[low] == user ? low : nil
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

    /// The paths of an aggregate's cells over every type, each with its users: the cells taken in path
    /// order (one per type a path has), and the runs of a path's cells merged.
    static func pathRuns(of aggregate: Aggregate) -> KeyedRuns {
        let cells = aggregate.cells
        let starts = aggregate.userStarts
        // Cell indexes by path, then type: a site with one type has them in that order already.
        var order = Array(cells.indices)
        if cells.indices.dropFirst().contains(where: { Aggregate.type(of: cells[$0]) != Aggregate.type(of: cells[$0 - 1]) }) {
            order.sort { (Aggregate.path(of: cells[$0]), $0) < (Aggregate.path(of: cells[$1]), $1) }
        }
        var runs = KeyedRuns()
        runs.users.reserveCapacity(aggregate.cellUsers.count)
        var merged: [UInt32] = []
        aggregate.cellUsers.withUnsafeBufferPointer { users in
            var first = 0
            while first < order.count {
                let path = Aggregate.path(of: cells[order[first]])
                var end = first + 1
                while end < order.count, Aggregate.path(of: cells[order[end]]) == path { end += 1 }
                if end == first + 1 {
                    runs.users += users[Int(starts[order[first]])..<Int(starts[order[first] + 1])]
                } else {
                    merged.removeAll(keepingCapacity: true)
                    for index in order[first..<end] { merged += users[Int(starts[index])..<Int(starts[index + 1])] }
                    merged.sort()
                    var previous: UInt32? = nil
                    for user in merged where user != previous {
                        runs.users.append(user)
                        previous = user
                    }
                }
                runs.keys.append(UInt64(path))
                runs.starts.append(Int32(runs.users.count))
                first = end
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
        keys = keys.uniqued()
        let isTarget = span.map { targets.contains($0.day) }
        let byKey = flat.cells(of: keys)
        // The gaps of every user of the span, of which the targets' are kept.
        var gaps = [UInt8](repeating: none, count: flat.users.count)
        var scratch = Scratch.take(size: universe + 1)
        defer { scratch.giveBack() }
        let window = UInt64(Self.window)
        var stamp = scratch.stamp
        gaps.withUnsafeMutableBufferPointer { gaps in
            scratch.seen.withUnsafeMutableBufferPointer { seen in
                flat.withPointers { _, starts, users in
                    for ordinal in 0..<byKey.starts.count - 1 {
                        let stamp = Scratch.next(&stamp, seen)
                        for entry in byKey.starts[ordinal]..<byKey.starts[ordinal + 1] {
                            let cell = Int(byKey.cells[entry])
                            let position = Int(byKey.positions[entry])
                            let day = UInt64(span[position].day - first)
                            let target = isTarget[position]
                            for index in starts[cell]..<starts[cell + 1] {
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
        scratch.stamp = stamp
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

    private static let spare = Mutex<Scratch?>(nil)

    /// A day number per user, stamped with the key being walked: `stamp << 24 | day`, so a value left by
    /// an earlier key (or walk) never passes for this one's. Reused from one walk to the next, since
    /// allocating and zeroing a user-sized array each time would cost as much as the walk; its stamps
    /// start over, on a zeroed array, before they would overflow.
    struct Scratch {
        var seen: [UInt64] = []
        var stamp: UInt64 = 0

        static func take(size: Int) -> Scratch {
            var scratch = spare.withLock { spare -> Scratch? in
                defer { spare = nil }
                return spare
            } ?? Scratch()
            if scratch.seen.count < size { scratch.seen += [UInt64](repeating: 0, count: size - scratch.seen.count) }
            return scratch
        }

        func giveBack() {
            spare.withLock { spare in
                if (spare?.seen.count ?? 0) <= seen.count { spare = self }
            }
        }

        /// The next key's stamp, shifted into place; `seen` zeroed and the stamps started over before
        /// they would overflow.
        static func next(_ stamp: inout UInt64, _ seen: UnsafeMutableBufferPointer<UInt64>) -> UInt64 {
            if stamp == 1 << 40 - 1 {
                seen.update(repeating: 0)
                stamp = 0
            }
            stamp += 1
            return stamp << 24
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

    /// For each of `keys` (ascending, without repeats, each in some day of the span), the span's cells
    /// with that key, in day order: entries `starts[i]..<starts[i + 1]` of `cells` (indexes into `keys`
    /// and `starts` here) and `positions` (the days' indexes in the span). Found once per cell, so a walk
    /// costs the cells there are, not the keys times the days.
    func cells(of wanted: [UInt64]) -> (starts: [Int], cells: [Int32], positions: [Int32]) {
        var counts = [Int](repeating: 0, count: wanted.count + 1)
        var ordinals = [Int32](repeating: -1, count: keys.count)
        for position in 0..<keyStarts.count - 1 {
            var low = 0
            for cell in keyStarts[position]..<keyStarts[position + 1] {
                // The day's keys ascend: each search starts where the last ended.
                var high = wanted.count
                while low < high {
                    let middle = (low + high) / 2
                    if wanted[middle] < keys[cell] { low = middle + 1 } else { high = middle }
                }
                if low < wanted.count, wanted[low] == keys[cell] {
                    ordinals[cell] = Int32(low)
                    counts[low + 1] += 1
                }
            }
        }
        for index in 1..<counts.count { counts[index] += counts[index - 1] }
        var next = counts
        var cells = [Int32](repeating: 0, count: counts.last!)
        var positions = [Int32](repeating: 0, count: counts.last!)
        for position in 0..<keyStarts.count - 1 {
            for cell in keyStarts[position]..<keyStarts[position + 1] where ordinals[cell] >= 0 {
                let ordinal = Int(ordinals[cell])
                cells[next[ordinal]] = Int32(cell)
                positions[next[ordinal]] = Int32(position)
                next[ordinal] += 1
            }
        }
        return (counts, cells, positions)
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
        keys = keys.uniqued()
        let byKey = flat.cells(of: keys)
        var scratch = Recency.Scratch.take(size: universe + 1)
        defer { scratch.giveBack() }
        var pairs: [UInt64] = []
        var stamp = scratch.stamp
        scratch.seen.withUnsafeMutableBufferPointer { seen in
            flat.withPointers { _, starts, users in
                for (ordinal, key) in keys.enumerated() {
                    let stamp = Recency.Scratch.next(&stamp, seen)
                    pairs.removeAll(keepingCapacity: true)
                    // Latest day first: a user's first sighting is its last day.
                    for entry in (byKey.starts[ordinal]..<byKey.starts[ordinal + 1]).reversed() {
                        let cell = Int(byKey.cells[entry])
                        let offset = UInt64(newest - span[Int(byKey.positions[entry])].day)
                        for index in starts[cell]..<starts[cell + 1] {
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
        scratch.stamp = stamp
    }

    /// Pairs of the window's days that came after the build (late events), with their days.
    private var added: [Pair: Int32] = [:]

    private struct Pair: Hashable {
        let key: UInt64
        let user: UInt32
    }

    /// The last day of the window (up to `newest - 2`) on which `user` had `key`, nil for none.
    func lastDay(of key: UInt64, user: UInt32) -> Int? {
        let later = added.isEmpty ? nil : added[Pair(key: key, user: user)].map(Int.init)
        guard let position = runs.position(of: key, user: user) else { return later }
        return max(Int(lastDays[position]), later ?? .min)
    }

    /// Records that `user` now has `key` on `day`, a day of the window that changed after the build.
    mutating func note(_ key: UInt64, user: UInt32, day: Int) {
        guard day <= newest - 2, day >= newest - 1 - Recency.window else { return }
        let pair = Pair(key: key, user: user)
        added[pair] = max(added[pair] ?? .min, Int32(day))
    }
}
