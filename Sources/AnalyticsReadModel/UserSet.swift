/// A set of a site's dense user numbers: a sorted array while it is small against the numbers in use,
/// a bitmap once the array would be larger. Exact, and cheap to union many of.
public struct UserSet: Sendable, Hashable {
    private enum Storage: Sendable, Hashable {
        case sorted([UInt32])
        case bitmap([UInt64], count: Int)
    }

    private var storage: Storage = .sorted([])

    public init() {}

    public var count: Int {
        switch storage {
        case .sorted(let numbers): numbers.count
        case .bitmap(_, let count): count
        }
    }

    /// Adds users (in any order, repeats allowed); `universe` is how many numbers the site has given
    /// out, which decides when the bitmap is the smaller form.
    public mutating func formUnion(_ added: [UInt32], universe: Int) {
        guard !added.isEmpty else { return }
        var added = added
        added.sort()
        switch storage {
        case .sorted(let numbers):
            storage = .sorted([])  // let go of the enum's reference
            let merged = numbers.mergingUnique(added)
            if merged.count * 32 > max(universe, 4096) {
                var words = [UInt64](repeating: 0, count: Int(merged.last! / 64) + 1)
                for number in merged { words[Int(number / 64)] |= 1 << UInt64(number % 64) }
                storage = .bitmap(words, count: merged.count)
            } else {
                storage = .sorted(merged)
            }
        case .bitmap(var words, var count):
            storage = .sorted([])
            for user in added {
                let word = Int(user / 64)
                let bit: UInt64 = 1 << UInt64(user % 64)
                if word >= words.count { words += [UInt64](repeating: 0, count: word - words.count + 1) }
                if words[word] & bit == 0 {
                    words[word] |= bit
                    count += 1
                }
            }
            storage = .bitmap(words, count: count)
        }
    }

    /// Adds every member to a union being counted.
    public func add(to union: inout UserUnion) {
        switch storage {
        case .sorted(let numbers):
            union.insert(contentsOf: numbers[...])
        case .bitmap(let words, _):
            union.formUnion(words)
        }
    }
}

/// Distinct users across many `UserSet`s: their members gathered in an array while few, in a bitmap over
/// the site's user numbers once many, so a union of a few small sets costs what they hold, not the
/// site's size.
public struct UserUnion: Sendable {
    private var members: [UInt32] = []
    private var words: [UInt64] = []
    private let universe: Int

    /// `expected` is about how many members will be added, repeats included: when that is a large
    /// part of the site's numbers (a 512th: zeroing and counting a bitmap costs less than sorting that
    /// many members), the bitmap is the cheaper form from the start.
    public init(universe: Int, expected: Int = 0) {
        self.universe = universe
        if expected * 512 > universe { words = [UInt64](repeating: 0, count: universe / 64 + 1) }
    }

    private var usesBitmap: Bool { !words.isEmpty }

    private mutating func switchToBitmapIfLarge() {
        guard !usesBitmap, members.count > max(1024, universe / 16) else { return }
        words = [UInt64](repeating: 0, count: universe / 64 + 1)
        for member in members { setBit(member) }
        members = []
    }

    private mutating func setBit(_ user: UInt32) {
        let word = Int(user / 64)
        if word >= words.count { words += [UInt64](repeating: 0, count: word - words.count + 1) }
        words[word] |= 1 << UInt64(user % 64)
    }

    mutating func insert(_ user: UInt32) {
        if usesBitmap {
            setBit(user)
        } else {
            members.append(user)
            switchToBitmapIfLarge()
        }
    }

    /// Adds many members: into the bitmap in one tight loop, once it is one.
    mutating func insert(contentsOf users: ArraySlice<UInt32>) {
        guard usesBitmap else {
            for user in users { insert(user) }
            return
        }
        guard let largest = users.max() else { return }
        let needed = Int(largest / 64) + 1
        if needed > words.count { words += [UInt64](repeating: 0, count: needed - words.count) }
        words.withUnsafeMutableBufferPointer { words in
            users.withUnsafeBufferPointer { users in
                for user in users { words[Int(user &>> 6)] |= 1 &<< UInt64(user & 63) }
            }
        }
    }

    mutating func formUnion(_ other: [UInt64]) {
        if !usesBitmap {
            words = [UInt64](repeating: 0, count: max(universe / 64 + 1, other.count))
            for member in members { setBit(member) }
            members = []
        }
        if other.count > words.count { words += [UInt64](repeating: 0, count: other.count - words.count) }
        words.withUnsafeMutableBufferPointer { mine in
            for index in other.indices { mine[index] |= other[index] }
        }
    }

    public var count: Int {
        if usesBitmap { return words.reduce(0) { $0 + $1.nonzeroBitCount } }
        var sorted = members
        sorted.sort()
        var distinct = 0
        var previous: UInt32? = nil
        for member in sorted where member != previous {
            distinct += 1
            previous = member
        }
        return distinct
    }
}

extension UserUnion {
    /// The distinct users of each row's runs (each run ascending), counted in one scratch bitmap that a
    /// row sets, counting the bits it turns on, and then clears word by word. A row costs what its runs
    /// hold, where a union of its own would zero and count a bitmap of the site's size: a page of a
    /// hundred paths of a site of millions of users paid that a hundred times.
    public static func distinctCounts(of rows: [[ArraySlice<UInt32>]], universe: Int) -> [Int] {
        var largest = universe
        for runs in rows {
            for run in runs { if let last = run.last, Int(last) >= largest { largest = Int(last) + 1 } }
        }
        var words = [UInt64](repeating: 0, count: largest / 64 + 1)
        var counts = [Int](repeating: 0, count: rows.count)
        words.withUnsafeMutableBufferPointer { words in
            for (position, runs) in rows.enumerated() {
                var count = 0
                for run in runs {
                    run.withUnsafeBufferPointer { users in
                        for user in users {
                            let word = Int(user &>> 6)
                            let shift = UInt64(user & 63)
                            count &+= Int(truncatingIfNeeded: (~words[word] &>> shift) & 1)
                            words[word] |= 1 &<< shift
                        }
                    }
                }
                counts[position] = count
                for run in runs {
                    run.withUnsafeBufferPointer { users in
                        for user in users { words[Int(user &>> 6)] = 0 }
                    }
                }
            }
        }
        return counts
    }
}
