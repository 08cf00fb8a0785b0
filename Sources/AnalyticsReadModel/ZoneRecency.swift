/// Keeping a zone's `DayRecency` gaps current as batches change its days.
///
/// A batch's new (key, user) pairs are what change gaps: a new pair's own gap (the days back to the
/// user's previous day with the key), and the gap of the user's next day with the key, which may now
/// be nearer. Pairs already there keep theirs. The newest two days' new pairs, all that live traffic
/// brings, look their previous day up in `RecentUsers` (and the day before's runs); a pair of an older
/// day (an event days late) searches the days before it. A change with many new pairs for its days
/// (the first build, a backfill) walks the window's runs instead.
extension ZoneView {
    /// The two sets of runs with gaps: (type, path) cells, and paths over every type.
    enum Family: CaseIterable {
        case cells
        case paths
    }

    func runs(_ family: Family, of day: Int) -> KeyedRuns? {
        switch family {
        case .cells: days[day]?.runs
        case .paths: recency[day]?.paths
        }
    }

    private func storedGaps(_ family: Family, of day: Int) -> [UInt8] {
        switch family {
        case .cells: recency[day]?.cellGaps ?? []
        case .paths: recency[day]?.pathGaps ?? []
        }
    }

    private mutating func setGaps(_ family: Family, of day: Int, to gaps: [UInt8]) {
        switch family {
        case .cells: recency[day]!.cellGaps = gaps
        case .paths: recency[day]!.pathGaps = gaps
        }
    }

    private mutating func lowerGap(_ family: Family, of day: Int, at position: Int, to gap: UInt8) {
        switch family {
        case .cells: if recency[day]!.cellGaps[position] > gap { recency[day]!.cellGaps[position] = gap }
        case .paths: if recency[day]!.pathGaps[position] > gap { recency[day]!.pathGaps[position] = gap }
        }
    }

    /// A pair a batch added: its key, user, day and index in the day's runs.
    private struct NewPair {
        let key: UInt64
        let user: UInt32
        let day: Int
        let position: Int
    }

    /// `previous`: the touched days' cell runs before the batch, with which their gaps are aligned.
    mutating func updateRecency(touched: Set<Int>, previous: [Int: KeyedRuns], universe: Int) {
        guard !touched.isEmpty else { return }
        let existing = days.keys.sorted()
        let newest = existing.last!
        let changed = touched.sorted()
        var previousPaths: [Int: KeyedRuns] = [:]
        for day in changed {
            previousPaths[day] = recency[day]?.paths ?? KeyedRuns()
            recency[day, default: DayRecency()].paths = Recency.pathRuns(of: days[day]!)
        }
        // A walk costs the members of the runs it reads; a search, about a thousand times that per new
        // pair of an older day. A day only gains pairs, so its new ones are how many more it has.
        if changed[0] < newest - 1 {
            var olderPairs = 0
            for day in changed where day < newest - 1 {
                olderPairs += days[day]!.cellUsers.count - previous[day]!.users.count
                olderPairs += recency[day]!.paths.users.count - previousPaths[day]!.users.count
            }
            let (targets, span) = Self.walkPlan(changed: changed, existing: existing)
            if olderPairs * 1024 > span.reduce(0, { $0 + days[$1]!.cellUsers.count }) {
                walk(targets: targets, span: span, universe: universe)
                return
            }
        }
        // Each touched day's gaps realigned to its new runs, the new pairs' left to fill.
        var realigned: [Family: [Int: [UInt8]]] = [:]
        var added: [Family: [NewPair]] = [:]
        for family in Family.allCases {
            for day in changed {
                let before = family == .cells ? previous[day]! : previousPaths[day]!
                let (gaps, fresh) = Self.realign(runs(family, of: day)!, day: day, previous: before, previousGaps: storedGaps(family, of: day))
                realigned[family, default: [:]][day] = gaps
                added[family, default: []] += fresh
            }
        }
        if recentUsers?.cells.newest != newest {
            let window = existing.filter { $0 >= newest - 1 - Recency.window && $0 <= newest - 2 }
            recentUsers = (
                RecentUsers(newest: newest, span: window.map { ($0, days[$0]!.runs) }, universe: universe),
                RecentUsers(newest: newest, span: window.map { ($0, recency[$0]!.paths) }, universe: universe))
        }
        for family in Family.allCases {
            for (day, gaps) in realigned[family]! { setGaps(family, of: day, to: gaps) }
            let pairs = added[family]!
            // Older days first: the newest days' searches in `RecentUsers` see their pairs.
            for pair in pairs where pair.day <= newest - 2 {
                switch family {
                case .cells: recentUsers!.cells.note(pair.key, user: pair.user, day: pair.day)
                case .paths: recentUsers!.paths.note(pair.key, user: pair.user, day: pair.day)
                }
            }
            for pair in pairs {
                if let gap = previousGap(family, of: pair, newest: newest, existing: existing) {
                    lowerGap(family, of: pair.day, at: pair.position, to: gap)
                }
                // The user's next day with the key within the window now has this day before it.
                var index = existing.lowerBound(of: pair.day + 1)
                while index < existing.count, existing[index] <= pair.day + Recency.window {
                    if let position = runs(family, of: existing[index])!.position(of: pair.key, user: pair.user) {
                        lowerGap(family, of: existing[index], at: position, to: UInt8(existing[index] - pair.day))
                        break
                    }
                    index += 1
                }
            }
        }
    }

    /// The gaps of `runs` where `previous` (with `previousGaps`) had the pair, `Recency.none` elsewhere;
    /// and the pairs it did not have.
    private static func realign(_ runs: KeyedRuns, day: Int, previous: KeyedRuns, previousGaps: [UInt8]) -> ([UInt8], [NewPair]) {
        var gaps = [UInt8](repeating: Recency.none, count: runs.users.count)
        var fresh: [NewPair] = []
        var previousKey = 0
        for (index, key) in runs.keys.enumerated() {
            while previousKey < previous.keys.count, previous.keys[previousKey] < key { previousKey += 1 }
            var old = previousKey < previous.keys.count && previous.keys[previousKey] == key
                ? Int(previous.starts[previousKey])..<Int(previous.starts[previousKey + 1]) : 0..<0
            for position in Int(runs.starts[index])..<Int(runs.starts[index + 1]) {
                let user = runs.users[position]
                while !old.isEmpty, previous.users[old.lowerBound] < user { old = old.dropFirst() }
                if !old.isEmpty, previous.users[old.lowerBound] == user {
                    gaps[position] = previousGaps[old.lowerBound]
                } else {
                    fresh.append(NewPair(key: key, user: user, day: day, position: position))
                }
            }
        }
        return (gaps, fresh)
    }

    /// The days back from a new pair to its user's previous day with the key, nil for none within the
    /// window: the day before's runs, then `RecentUsers`, for the newest two days; the days before
    /// searched one by one for an older day.
    private func previousGap(_ family: Family, of pair: NewPair, newest: Int, existing: [Int]) -> UInt8? {
        if pair.day == newest, runs(family, of: newest - 1)?.position(of: pair.key, user: pair.user) != nil { return 1 }
        if pair.day >= newest - 1 {
            let recent = family == .cells ? recentUsers!.cells : recentUsers!.paths
            guard let last = recent.lastDay(of: pair.key, user: pair.user), pair.day - last <= Recency.window else { return nil }
            return UInt8(pair.day - last)
        }
        var index = existing.lowerBound(of: pair.day) - 1
        while index >= 0, existing[index] >= pair.day - Recency.window {
            if runs(family, of: existing[index])!.position(of: pair.key, user: pair.user) != nil { return UInt8(pair.day - existing[index]) }
            index -= 1
        }
        return nil
    }

    /// The days whose gaps a change can move (a changed day, or a day with one less than a window
    /// before it), and the days a walk reads for them (each target's window).
    private static func walkPlan(changed: [Int], existing: [Int]) -> (targets: Set<Int>, span: [Int]) {
        var targets = Set<Int>()
        for day in existing {
            let index = changed.lowerBound(of: day - Recency.window)
            if index < changed.count, changed[index] <= day { targets.insert(day) }
        }
        let ordered = targets.sorted()
        let span = existing.filter { day in
            let index = ordered.lowerBound(of: day)
            return index < ordered.count && ordered[index] <= day + Recency.window
        }
        return (targets, span)
    }

    /// Recomputes the gaps of `targets` by walking the runs of `span`; `RecentUsers` are built again
    /// when next needed.
    private mutating func walk(targets: Set<Int>, span: [Int], universe: Int) {
        recentUsers = nil
        let cellGaps = Recency.gaps(span: span.map { ($0, days[$0]!.runs) }, targets: targets, universe: universe)
        let pathGaps = Recency.gaps(span: span.map { ($0, recency[$0]!.paths) }, targets: targets, universe: universe)
        for day in targets {
            recency[day]!.cellGaps = cellGaps[day]!
            recency[day]!.pathGaps = pathGaps[day]!
        }
    }
}
