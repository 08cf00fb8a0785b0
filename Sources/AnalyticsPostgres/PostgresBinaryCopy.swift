import AnalyticsSpec

/// Rows for `COPY … FROM STDIN (FORMAT binary)`: each field as the column type's binary form, so the
/// server neither parses text nor runs a function per row, and stores the rows with its multi-row insert.
struct PostgresBinaryCopy {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int) {
        bytes.reserveCapacity(23 + capacity)
        bytes += Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00]
        PostgresBinaryField.append32(0, to: &bytes)  // flags: no OIDs
        PostgresBinaryField.append32(0, to: &bytes)  // no header extension
    }

    mutating func beginRow(fields: Int) { PostgresBinaryField.append16(UInt16(fields), to: &bytes) }

    mutating func append(_ text: String?) { PostgresBinaryField.append(text, to: &bytes) }
    mutating func append(_ id: EventID) { PostgresBinaryField.append(id, to: &bytes) }
    mutating func append(_ value: Int64) { PostgresBinaryField.append(value, to: &bytes) }
    mutating func append(microsecondsSinceUnixEpoch microseconds: Int64) {
        PostgresBinaryField.append(microsecondsSinceUnixEpoch: microseconds, to: &bytes)
    }

    /// The data with its trailer.
    consuming func finish() -> [UInt8] {
        PostgresBinaryField.append16(UInt16(bitPattern: -1), to: &bytes)
        return bytes
    }
}

/// One value in PostgreSQL's binary format, preceded by its length (-1 for NULL): how array elements and
/// binary `COPY` fields are both written.
enum PostgresBinaryField {
    static func append(_ text: String?, to bytes: inout [UInt8]) {
        guard var text else {
            append32(UInt32(bitPattern: -1), to: &bytes)
            return
        }
        text.withUTF8 { utf8 in
            append32(UInt32(utf8.count), to: &bytes)
            bytes.append(contentsOf: utf8)
        }
    }

    static func append(_ id: EventID, to bytes: inout [UInt8]) {
        append32(16, to: &bytes)
        append64(id.high, to: &bytes)
        append64(id.low, to: &bytes)
    }

    static func append(_ value: Int64, to bytes: inout [UInt8]) {
        append32(8, to: &bytes)
        append64(UInt64(bitPattern: value), to: &bytes)
    }

    /// An instant given in microseconds since the Unix epoch (PostgreSQL counts from 2000-01-01).
    static func append(microsecondsSinceUnixEpoch microseconds: Int64, to bytes: inout [UInt8]) {
        append(microseconds - 946_684_800_000_000, to: &bytes)
    }

    static func append16(_ value: UInt16, to bytes: inout [UInt8]) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    static func append32(_ value: UInt32, to bytes: inout [UInt8]) {
        for shift in stride(from: 24, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt32(shift))) }
    }

    static func append64(_ value: UInt64, to bytes: inout [UInt8]) {
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }
}
