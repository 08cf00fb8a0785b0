extension Array where Element == UInt8 {
    /// Appends `count` bytes that `fill` writes in place.
    mutating func append(count: Int, filling fill: (UnsafeMutableBufferPointer<UInt8>) -> Void) {
        let start = self.count
        append(contentsOf: repeatElement(0, count: count))
        withUnsafeMutableBufferPointer { fill(UnsafeMutableBufferPointer(rebasing: $0[start...])) }
    }
}
