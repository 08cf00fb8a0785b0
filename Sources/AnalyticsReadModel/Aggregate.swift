/// What one period (a day or a month in a zone) holds: views by event type and path, and the distinct
/// users of the whole period, of each event type, and of each event type and path. Exact: the user sets
/// are what make a range's distinct users a union rather than an estimate.
///
/// Stored as sorted arrays, which a query reads in order without hashing: the (type, path) cells, their
/// views, and each cell's users as a run of one flat array. New events wait in `pending` until `freeze()`
/// merges them in, once per batch rather than once per event.
struct Aggregate: Sendable {
    /// A (type, path) pair as one key, type number in the high half: one type's cells are adjacent.
    typealias Cell = UInt64

    static func cell(type: UInt32, path: UInt32) -> Cell { UInt64(type) << 32 | UInt64(path) }
    static func type(of cell: Cell) -> UInt32 { UInt32(cell >> 32) }
    static func path(of cell: Cell) -> UInt32 { UInt32(truncatingIfNeeded: cell) }

    private(set) var cells: [Cell] = []
    private(set) var views: [Int] = []
    /// Cell i's users are `cellUsers[userStarts[i]..<userStarts[i + 1]]`, ascending.
    private(set) var userStarts: [Int32] = [0]
    private(set) var cellUsers: [UInt32] = []
    private(set) var typeViews: [UInt32: Int] = [:]
    private(set) var total = 0
    private(set) var users = UserSet()
    private(set) var typeUsers: [UInt32: UserSet] = [:]
    /// Events added since the last `freeze()`: (cell, user), user 0 for none.
    private var pending: [(cell: Cell, user: UInt32)] = []

    /// Counts one event; `user` 0 is an event without a user. Call `freeze()` before reading.
    mutating func add(type: UInt32, path: UInt32, user: UInt32) {
        pending.append((Self.cell(type: type, path: path), user))
        typeViews[type, default: 0] += 1
        total += 1
    }

    /// Merges the pending events into the sorted arrays and the user sets.
    mutating func freeze(universe: Int) {
        guard !pending.isEmpty else { return }
        let added = pending.sorted { ($0.cell, $0.user) < ($1.cell, $1.user) }
        pending = []
        var newCells: [Cell] = []
        var newViews: [Int] = []
        var newStarts: [Int32] = [0]
        var newUsers: [UInt32] = []
        newCells.reserveCapacity(cells.count + 16)
        newViews.reserveCapacity(cells.count + 16)
        newStarts.reserveCapacity(cells.count + 17)
        newUsers.reserveCapacity(cellUsers.count + added.count)
        var old = 0
        var new = 0
        while old < cells.count || new < added.count {
            let cell = new == added.count || (old < cells.count && cells[old] <= added[new].cell) ? cells[old] : added[new].cell
            var count = 0
            var mine: ArraySlice<UInt32> = []
            if old < cells.count, cells[old] == cell {
                count = views[old]
                mine = cellUsers[Int(userStarts[old])..<Int(userStarts[old + 1])]
                old += 1
            }
            let first = new
            while new < added.count, added[new].cell == cell { new += 1 }
            count += new - first
            // Merge the cell's users with the added ones (ascending, user 0 skipped), without repeats.
            var index = mine.startIndex
            var last: UInt32 = 0
            for position in first..<new where added[position].user != 0 {
                let user = added[position].user
                while index < mine.endIndex, mine[index] < user {
                    newUsers.append(mine[index])
                    index += 1
                }
                if index < mine.endIndex, mine[index] == user { index += 1 }
                if user != last { newUsers.append(user); last = user }
            }
            newUsers.append(contentsOf: mine[index...])
            newCells.append(cell)
            newViews.append(count)
            newStarts.append(Int32(newUsers.count))
        }
        cells = newCells
        views = newViews
        userStarts = newStarts
        cellUsers = newUsers
        // The period's and each type's users: the added ones, sorted and without repeats, merged in.
        var byType: [UInt32: [UInt32]] = [:]
        var all: [UInt32] = []
        for (cell, user) in added where user != 0 {
            byType[Self.type(of: cell), default: []].append(user)
            all.append(user)
        }
        users.formUnion(all, universe: universe)
        for (type, members) in byType { typeUsers[type, default: UserSet()].formUnion(members, universe: universe) }
    }

    /// Views of one event type, or of every type.
    func views(ofType type: UInt32?) -> Int {
        guard let type else { return total }
        return typeViews[type] ?? 0
    }

    /// The period's distinct users of one event type, or of every type.
    func userCount(ofType type: UInt32?) -> Int {
        guard let type else { return users.count }
        return typeUsers[type]?.count ?? 0
    }

    func addUsers(ofType type: UInt32?, to union: inout UserUnion) {
        if let type { typeUsers[type]?.add(to: &union) } else { users.add(to: &union) }
    }

    /// The indexes of the cells of one type, or of every type.
    func cellRange(ofType type: UInt32?) -> Range<Int> {
        guard let type else { return cells.indices }
        return cells.lowerBound(of: Self.cell(type: type, path: 0))..<cells.lowerBound(of: Self.cell(type: type + 1, path: 0))
    }

    /// The index in `cells` of the (type, path) cell, nil when no event of the period has both.
    func cellIndex(type: UInt32, path: UInt32) -> Int? {
        let cell = Self.cell(type: type, path: path)
        let index = cells.lowerBound(of: cell)
        return index < cells.count && cells[index] == cell ? index : nil
    }

    /// The cells and their users, as `Recency` walks them.
    var runs: KeyedRuns { KeyedRuns(keys: cells, starts: userStarts, users: cellUsers) }

    /// The users of the cell at `index` in `cells`, ascending.
    func users(atCell index: Int) -> ArraySlice<UInt32> { cellUsers[Int(userStarts[index])..<Int(userStarts[index + 1])] }
}
