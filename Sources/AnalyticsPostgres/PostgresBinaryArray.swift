import AnalyticsSpec

/// A one-dimensional array parameter in PostgreSQL's binary format (what `array_recv` reads): no text to
/// escape on this side and none to parse on the server's.
struct PostgresBinaryArray {
    /// The element types this store sends, by their type OIDs.
    enum ElementType: UInt32 {
        case int8 = 20
        case text = 25
        case timestamptz = 1184
        case uuid = 2950
    }

    private var bytes: [UInt8] = []
    private var count: UInt32 = 0
    private var hasNull = false

    init(of elementType: ElementType, capacity: Int) {
        bytes.reserveCapacity(20 + capacity)
        append32(1)  // dimensions
        append32(0)  // has nulls, set by `finish`
        append32(elementType.rawValue)
        append32(0)  // length of the dimension, set by `finish`
        append32(1)  // lower bound
    }

    /// The array, with its length and null flag filled in.
    consuming func finish() -> [UInt8] {
        Self.store32(hasNull ? 1 : 0, into: &bytes, at: 4)
        Self.store32(count, into: &bytes, at: 12)
        return bytes
    }

    mutating func append(_ text: String?) {
        count += 1
        if text == nil { hasNull = true }
        PostgresBinaryField.append(text, to: &bytes)
    }

    mutating func append(_ id: EventID) {
        count += 1
        PostgresBinaryField.append(id, to: &bytes)
    }

    mutating func append(_ value: Int64) {
        count += 1
        PostgresBinaryField.append(value, to: &bytes)
    }

    /// Appends an instant given in microseconds since the Unix epoch.
    mutating func append(microsecondsSinceUnixEpoch microseconds: Int64) {
        count += 1
        PostgresBinaryField.append(microsecondsSinceUnixEpoch: microseconds, to: &bytes)
    }

    private mutating func append32(_ value: UInt32) { PostgresBinaryField.append32(value, to: &bytes) }

    private static func store32(_ value: UInt32, into bytes: inout [UInt8], at offset: Int) {
        for index in 0..<4 { bytes[offset + index] = UInt8(truncatingIfNeeded: value >> UInt32(24 - index * 8)) }
    }
}
