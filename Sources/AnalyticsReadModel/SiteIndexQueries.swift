import AnalyticsSpec
import JSONSchemaValidation

/// The reporting endpoints answered from a `SiteIndex` whose zone is prepared: a range of days is the
/// months it covers whole and its other days; the views are added up by path or type number, and the
/// distinct users are a union of the parts' user sets, so every number is exact.
extension SiteIndex {
    /// The aggregates that make up the days `from` to `to` (days since the epoch), each counted once.
    func parts(of view: ZoneView, from: Int, to: Int) -> [Aggregate] {
        func isWhole(month: Int) -> Bool {
            let first = CalendarDate(year: month / 12, month: month % 12 + 1, day: 1).daysSinceEpoch
            let next = CalendarDate(year: (month + 1) / 12, month: (month + 1) % 12 + 1, day: 1).daysSinceEpoch
            return first >= from && next - 1 <= to
        }
        var parts: [Aggregate] = []
        if to - from < 62 {
            // A short range: look its days (and whole months) up.
            var day = from
            while day <= to {
                let date = CalendarDate(daysSinceEpoch: day)
                let month = ZoneView.month(of: date)
                if date.day == 1, isWhole(month: month) {
                    if let aggregate = view.months[month] { parts.append(aggregate) }
                    day = CalendarDate(year: (month + 1) / 12, month: (month + 1) % 12 + 1, day: 1).daysSinceEpoch
                    continue
                }
                if let aggregate = view.days[day] { parts.append(aggregate) }
                day += 1
            }
        } else {
            // A long one: walk the aggregates there are, which are fewer than its days.
            for (month, aggregate) in view.months where isWhole(month: month) { parts.append(aggregate) }
            for (day, aggregate) in view.days where day >= from && day <= to
                && !isWhole(month: ZoneView.month(of: CalendarDate(daysSinceEpoch: day))) {
                parts.append(aggregate)
            }
        }
        return parts
    }

    private func parts(of view: ZoneView, period: StatsQuery.Period) -> [Aggregate] {
        guard let days = period.days else { return Array(view.months.values) }
        return parts(of: view, from: days.lowerBound.daysSinceEpoch, to: days.upperBound.daysSinceEpoch)
    }

    private func view(_ zone: ReportingZone?) -> ZoneView {
        guard let view = zones[(zone ?? .utc).name] else { preconditionFailure("prepare(\((zone ?? .utc).name)) first") }
        return view
    }

    /// The event type's number; nil when the query counts every type. `.none` when the site has never
    /// seen that type, so nothing matches.
    private func typeFilter(_ eventType: String?) -> UInt32?? {
        guard let eventType else { return .some(nil) }
        guard let number = types.existingNumber(for: eventType) else { return .none }
        return .some(number)
    }

    /// Views by path number, of one type or every type, over the parts.
    private func pathViews(_ parts: [Aggregate], type: UInt32?) -> [Int] {
        var views = [Int](repeating: 0, count: paths.count + 1)
        views.withUnsafeMutableBufferPointer { views in
            for part in parts {
                let cells = part.cells
                let counts = part.views
                for index in part.cellRange(ofType: type) { views[Int(Aggregate.path(of: cells[index]))] += counts[index] }
            }
        }
        return views
    }

    /// The `limit` numbers with the most views (index = number), most first, then by their text's
    /// bytes; only those past `after` when given. Sorting by views alone first keeps the text
    /// comparisons to the rows that can make the page.
    private func top(_ views: [Int], texts: Interner, limit: Int, after: BreakdownQuery.Position?) -> (rows: [(number: UInt32, views: Int)], more: Bool) {
        var candidates: [(number: UInt32, views: Int)] = []
        for (number, count) in views.enumerated() where count > 0 {
            if let after, !after.precedes(views: count, value: texts.text(UInt32(number))) { continue }
            candidates.append((UInt32(number), count))
        }
        let more = candidates.count > limit
        if candidates.count > limit {
            candidates.sort { $0.views > $1.views }
            // Keep every row tied with the last one that fits: the text decides among them.
            let least = candidates[limit - 1].views
            candidates = Array(candidates.prefix { $0.views >= least })
        }
        candidates.sort { $0.views != $1.views ? $0.views > $1.views : texts.text($0.number).utf8.lexicographicallyPrecedes(texts.text($1.number).utf8) }
        return (Array(candidates.prefix(limit)), more)
    }

    private func distinctUsers(_ parts: [Aggregate], type: UInt32?) -> Int {
        if parts.count == 1 { return parts[0].userCount(ofType: type) }
        var union = UserUnion(universe: users.count + 1, expected: parts.reduce(0) { $0 + $1.userCount(ofType: type) })
        for part in parts { part.addUsers(ofType: type, to: &union) }
        return union.count
    }

    public func stats(_ query: StatsQuery) -> StatsResponse {
        guard case .some(let type) = typeFilter(query.eventType) else {
            return StatsResponse(query: query, totalViews: 0, uniqueUsers: 0, topPaths: [])
        }
        let parts = parts(of: view(query.zone), period: query.period)
        let views = pathViews(parts, type: type)
        let top = top(views, texts: paths, limit: query.limit, after: nil).rows
        return StatsResponse(
            query: query, totalViews: parts.reduce(0) { $0 + $1.views(ofType: type) }, uniqueUsers: distinctUsers(parts, type: type),
            topPaths: top.map { StatsResponse.PathViews(path: paths.text($0.number), views: $0.views) })
    }

    public func timeseries(_ query: TimeseriesQuery) -> TimeseriesResponse {
        let empty = TimeseriesResponse.Point(views: 0, uniqueUsers: 0)
        guard case .some(let type) = typeFilter(query.eventType) else {
            return TimeseriesResponse(query: query, points: Array(repeating: empty, count: query.bucketStarts.count))
        }
        if query.interval == .hour, Self.isUTCHour(query.instants.lowerBound), Self.isUTCHour(query.instants.upperBound) {
            // Buckets that are UTC hours, the first starting on one and the last ending on one (the
            // offsets at both ends are whole hours, as in most zones): one aggregate each.
            return TimeseriesResponse(query: query, points: query.bucketStarts.map { start in
                let hour = floorDivide(start, 3_600_000_000)
                let day = Int(floorDivide(hour, 24))
                guard let aggregate = rawDays[day]?.hours[Int(hour) - day * 24] else { return empty }
                return TimeseriesResponse.Point(views: aggregate.views(ofType: type), uniqueUsers: aggregate.userCount(ofType: type))
            })
        }
        if query.interval == .hour {
            // Hours of a range that starts or ends at an offset that is not whole hours (+05:30, -03:30): cut from the events.
            var views = [Int](repeating: 0, count: query.bucketStarts.count)
            var members = [[UInt32]](repeating: [], count: query.bucketStarts.count)
            forEachEvent(in: query.instants) { timestamp, eventType, _, user in
                guard type == nil || eventType == type else { return }
                let bucket = Int((timestamp - query.bucketStarts[0]) / 3_600_000_000)
                views[bucket] += 1
                if user != 0 { members[bucket].append(user) }
            }
            // Distinct users bucket by bucket: a user counts when last marked by an earlier bucket.
            var marks = [UInt16](repeating: 0, count: users.count + 1)
            return TimeseriesResponse(query: query, points: zip(views, members).enumerated().map { bucket, pair in
                let mark = UInt16(bucket + 1)
                var distinct = 0
                for user in pair.1 where marks[Int(user)] != mark {
                    marks[Int(user)] = mark
                    distinct += 1
                }
                return TimeseriesResponse.Point(views: pair.0, uniqueUsers: distinct)
            })
        }
        // Days, weeks and months are runs of the zone's days: the first day of each bucket, then the next's.
        let view = view(query.zone)
        let from = query.from.daysSinceEpoch
        let to = query.to.daysSinceEpoch
        var firstDays = [from]
        var day = from + 1
        while day <= to {
            let date = CalendarDate(daysSinceEpoch: day)
            let cuts = switch query.interval {
            case .day: true
            case .week: ReportingZone.isoWeekday(date) == 1
            case .month: date.day == 1
            case .hour: false
            }
            if cuts { firstDays.append(day) }
            day += 1
        }
        precondition(firstDays.count == query.bucketStarts.count, "the zone and the query cut the same buckets")
        return TimeseriesResponse(query: query, points: firstDays.indices.map { index in
            let last = index + 1 < firstDays.count ? firstDays[index + 1] - 1 : to
            let parts = parts(of: view, from: firstDays[index], to: last)
            return TimeseriesResponse.Point(
                views: parts.reduce(0) { $0 + $1.views(ofType: type) }, uniqueUsers: distinctUsers(parts, type: type))
        })
    }

    private static func isUTCHour(_ instant: Int64) -> Bool { floorDivide(instant, 3_600_000_000) * 3_600_000_000 == instant }

    /// Distinct users of each path over days `from...to` (at most `Recency.window` of them), of one type
    /// or of every type: on each day, the users whose previous day with the path (and type) is before
    /// `from`.
    private func recentUsers(_ pathNumbers: [UInt32], view: ZoneView, type: UInt32?, from: Int, to: Int) -> [Int] {
        // Each day's keys, the start of each key's run, and the run's gaps; a (type, path) cell's key
        // when a type is asked for, the path's over every type otherwise.
        var days: [(threshold: UInt8, keys: [UInt64], starts: [Int32], gaps: [UInt8])] = []
        for day in from...to {
            guard let recency = view.recency[day] else { continue }
            if type != nil {
                let aggregate = view.days[day]!
                days.append((UInt8(day - from), aggregate.cells, aggregate.userStarts, recency.cellGaps))
            } else {
                days.append((UInt8(day - from), recency.paths.keys, recency.paths.starts, recency.pathGaps))
            }
        }
        return pathNumbers.map { path in
            let key = type.map { Aggregate.cell(type: $0, path: path) } ?? UInt64(path)
            var count = 0
            for position in days.indices {
                let index = days[position].keys.lowerBound(of: key)
                guard index < days[position].keys.count, days[position].keys[index] == key else { continue }
                let run = Int(days[position].starts[index])..<Int(days[position].starts[index + 1])
                count += days[position].gaps.withUnsafeBufferPointer {
                    Recency.count(UnsafeBufferPointer(rebasing: $0[run]), above: days[position].threshold)
                }
            }
            return count
        }
    }

    public func breakdown(_ query: BreakdownQuery) -> BreakdownResponse {
        guard case .some(let type) = typeFilter(query.eventType) else {
            return BreakdownResponse(query: query, rows: [], hasMore: false)
        }
        let parts = parts(of: view(query.zone), period: query.period)
        // Every value with its views, then the page; distinct users only for the rows on it.
        let views: [Int]
        let texts: Interner
        switch query.dimension {
        case .path:
            views = pathViews(parts, type: type)
            texts = paths
        case .eventType:
            var counts = [Int](repeating: 0, count: types.count + 1)
            for part in parts {
                for (eventType, count) in part.typeViews where type == nil || eventType == type { counts[Int(eventType)] += count }
            }
            views = counts
            texts = types
        }
        let (rows, more) = top(views, texts: texts, limit: query.limit, after: query.after)
        // Distinct users of the page's rows only, from the runs of users of their cells.
        let uniqueUsers: [Int]
        switch query.dimension {
        case .path:
            if let days = query.period.days, days.upperBound.daysSinceEpoch - days.lowerBound.daysSinceEpoch < Recency.window {
                uniqueUsers = recentUsers(rows.map(\.number), view: view(query.zone), type: type,
                                          from: days.lowerBound.daysSinceEpoch, to: days.upperBound.daysSinceEpoch)
                break
            }
            let counted = type.map { [$0] } ?? Array(1...UInt32(max(types.count, 1)))
            var runs = [[ArraySlice<UInt32>]](repeating: [], count: rows.count)
            let cellCount = parts.reduce(0) { $0 + $1.cellRange(ofType: type).count }
            if rows.count * counted.count * parts.count * 16 < cellCount {
                // Few rows and types against many cells: each row's cell found by binary search in each
                // part, one per type counted, rather than visiting every cell.
                for (position, row) in rows.enumerated() {
                    for part in parts {
                        for eventType in counted {
                            if let index = part.cellIndex(type: eventType, path: row.number) { runs[position].append(part.users(atCell: index)) }
                        }
                    }
                }
            } else {
                // Many rows or types (a page of 1,000, a site with hundreds of types): one walk over the
                // cells, each path number's row read from an array (-1 for none).
                var rowOfPath = [Int32](repeating: -1, count: paths.count + 1)
                for (position, row) in rows.enumerated() { rowOfPath[Int(row.number)] = Int32(position) }
                for part in parts {
                    let cells = part.cells
                    for index in part.cellRange(ofType: type) {
                        let position = rowOfPath[Int(Aggregate.path(of: cells[index]))]
                        if position >= 0 { runs[Int(position)].append(part.users(atCell: index)) }
                    }
                }
            }
            uniqueUsers = UserUnion.distinctCounts(of: runs, universe: users.count + 1)
        case .eventType:
            uniqueUsers = rows.map { row in
                var union = UserUnion(universe: users.count + 1, expected: parts.reduce(0) { $0 + $1.userCount(ofType: row.number) })
                for part in parts { part.typeUsers[row.number]?.add(to: &union) }
                return union.count
            }
        }
        let page = zip(rows, uniqueUsers).map { row, count in
            BreakdownResponse.Row(value: texts.text(row.number), views: row.views, uniqueUsers: count)
        }
        return BreakdownResponse(query: query, rows: page, hasMore: more)
    }
}
