/// One UTC hour's views and distinct users, of every event type and of each, so that an hourly series
/// whose buckets are UTC hours (in UTC, and in a zone whose offsets over the range are whole hours) reads
/// one value per bucket instead of the hour's events.
///
/// The users are kept as sorted (type, user) keys: an hour's distinct users of one type is a range of
/// them, and new events merge in at `freeze()`, once per batch.
struct HourAggregate: Sendable {
    private(set) var total = 0
    /// Views by event type; a site has few types, so a short list.
    private var typeViews: [(type: UInt32, views: Int)] = []
    /// `type << 32 | user`, ascending, without repeats; events without a user are not in it.
    private var keys: [UInt64] = []
    /// Distinct users over every type.
    private(set) var users = 0
    private var pending: [UInt64] = []

    mutating func add(type: UInt32, user: UInt32) {
        total += 1
        if let index = typeViews.firstIndex(where: { $0.type == type }) {
            typeViews[index].views += 1
        } else {
            typeViews.append((type, 1))
        }
        if user != 0 { pending.append(UInt64(type) << 32 | UInt64(user)) }
    }

    var needsFreeze: Bool { !pending.isEmpty }

    mutating func freeze() {
        guard !pending.isEmpty else { return }
        pending.sort()
        keys = keys.mergingUnique(pending)
        pending = []
        if typeViews.count == 1 {
            users = keys.count
        } else {
            var distinct = keys.map { UInt32(truncatingIfNeeded: $0) }
            distinct.sort()
            users = 0
            var previous: UInt32 = 0
            for user in distinct where user != previous {
                users += 1
                previous = user
            }
        }
    }

    /// Views of one event type, or of every type.
    func views(ofType type: UInt32?) -> Int {
        guard let type else { return total }
        return typeViews.first { $0.type == type }?.views ?? 0
    }

    /// Distinct users of one event type, or of every type.
    func userCount(ofType type: UInt32?) -> Int {
        guard let type else { return users }
        return keys.lowerBound(of: (UInt64(type) + 1) << 32) - keys.lowerBound(of: UInt64(type) << 32)
    }
}
