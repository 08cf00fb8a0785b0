/// What one period (a day or a month in a zone) holds: views by event type and path, and the distinct
/// users of the whole period, of each event type, and of each event type and path. Exact; the user sets
/// are what make a range's distinct users a union rather than an estimate.
struct Aggregate: Sendable {
    /// A (type, path) pair as one key: type number in the high half.
    typealias Cell = UInt64

    static func cell(type: UInt32, path: UInt32) -> Cell { UInt64(type) << 32 | UInt64(path) }
    static func type(of cell: Cell) -> UInt32 { UInt32(cell >> 32) }
    static func path(of cell: Cell) -> UInt32 { UInt32(truncatingIfNeeded: cell) }

    private(set) var views: [Cell: Int] = [:]
    private(set) var typeViews: [UInt32: Int] = [:]
    private(set) var total = 0
    private(set) var users = UserSet()
    private(set) var typeUsers: [UInt32: UserSet] = [:]
    private(set) var cellUsers: [Cell: UserSet] = [:]

    /// Counts one event; `user` 0 is an event without a user.
    mutating func add(type: UInt32, path: UInt32, user: UInt32, universe: Int) {
        let cell = Self.cell(type: type, path: path)
        views[cell, default: 0] += 1
        typeViews[type, default: 0] += 1
        total += 1
        guard user != 0 else { return }
        users.insert(user, universe: universe)
        typeUsers[type, default: UserSet()].insert(user, universe: universe)
        cellUsers[cell, default: UserSet()].insert(user, universe: universe)
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
}
