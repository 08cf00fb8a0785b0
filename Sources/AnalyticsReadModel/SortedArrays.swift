/// The two operations the read model's sorted arrays share.
extension Array where Element: Comparable {
    /// The index of the first element not less than `value`, in an ascending array.
    func lowerBound(of value: Element) -> Int {
        var low = 0
        var high = count
        while low < high {
            let middle = (low + high) / 2
            if self[middle] < value { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// This array (ascending) without repeats.
    func uniqued() -> [Element] {
        var unique: [Element] = []
        unique.reserveCapacity(count)
        for element in self where unique.last != element { unique.append(element) }
        return unique
    }

    /// This array (ascending, without repeats) and `added` (ascending, repeats allowed) merged, ascending
    /// and without repeats.
    func mergingUnique(_ added: [Element]) -> [Element] {
        var merged: [Element] = []
        merged.reserveCapacity(count + added.count)
        var index = 0
        for element in added where merged.last != element {
            while index < count, self[index] < element {
                merged.append(self[index])
                index += 1
            }
            if index < count, self[index] == element { index += 1 }
            if merged.last != element { merged.append(element) }
        }
        merged.append(contentsOf: self[index...])
        return merged
    }
}
