import JSONSchemaValidation

/// One validated analytics event, as the queue carries it and the store keeps it.
public struct Event: Sendable, Hashable {
    public var id: EventID
    public var siteID: String
    public var eventType: String
    public var path: String
    /// Nil when the client sent none, null or an empty string.
    public var userID: String?
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var timestamp: Int64

    public init(id: EventID, siteID: String, eventType: String, path: String, userID: String?, timestamp: Int64) {
        self.id = id
        self.siteID = siteID
        self.eventType = eventType
        self.path = path
        self.userID = userID
        self.timestamp = timestamp
    }

    /// The UTC day the event happened on.
    public var utcDate: CalendarDate { Self.utcDate(of: timestamp) }

    /// The UTC day of an instant in microseconds since the epoch.
    public static func utcDate(of microseconds: Int64) -> CalendarDate {
        let days = microseconds >= 0 ? microseconds / 86_400_000_000 : (microseconds - 86_399_999_999) / 86_400_000_000
        return CalendarDate(daysSinceEpoch: Int(days))
    }

    /// The timestamp in RFC 3339 UTC form with microseconds, such as `2025-11-14T10:00:00.000000Z`.
    public var timestampText: String { RFC3339Formatter.utc(microseconds: timestamp) }
}

/// Formats instants as RFC 3339 in UTC.
public enum RFC3339Formatter {
    public static func utc(microseconds: Int64) -> String {
        let parts = Parts(microseconds)
        guard parts.fitsFourDigitYear else { return parts.text }
        return String(unsafeUninitializedCapacity: 27) { buffer in
            parts.fill(buffer)
            return 27
        }
    }

    /// Appends the same text as `utc(microseconds:)` as bytes.
    public static func writeUTC(microseconds: Int64, to output: inout [UInt8]) {
        let parts = Parts(microseconds)
        guard parts.fitsFourDigitYear else {
            output.append(contentsOf: parts.text.utf8)
            return
        }
        output.append(count: 27, filling: parts.fill)
    }

    private struct Parts {
        let date: CalendarDate
        let seconds: Int
        let fraction: Int

        init(_ microseconds: Int64) {
            let days = microseconds >= 0 ? microseconds / 86_400_000_000 : (microseconds - 86_399_999_999) / 86_400_000_000
            let remainder = microseconds - days * 86_400_000_000
            date = CalendarDate(daysSinceEpoch: Int(days))
            seconds = Int(remainder / 1_000_000)
            fraction = Int(remainder % 1_000_000)
        }

        var fitsFourDigitYear: Bool { (0...9999).contains(date.year) }

        var text: String {
            let pad = RFC3339Formatter.pad
            return "\(date)T\(pad(seconds / 3600, 2)):\(pad(seconds / 60 % 60, 2)):\(pad(seconds % 60, 2)).\(pad(fraction, 6))Z"
        }

        /// Writes the 27 bytes of the text; only for years of four digits.
        func fill(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
            func put(_ value: Int, width: Int, at offset: Int) {
                var value = value
                for index in stride(from: offset + width - 1, through: offset, by: -1) {
                    buffer[index] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
            }
            put(date.year, width: 4, at: 0)
            buffer[4] = UInt8(ascii: "-")
            put(date.month, width: 2, at: 5)
            buffer[7] = UInt8(ascii: "-")
            put(date.day, width: 2, at: 8)
            buffer[10] = UInt8(ascii: "T")
            put(seconds / 3600, width: 2, at: 11)
            buffer[13] = UInt8(ascii: ":")
            put(seconds / 60 % 60, width: 2, at: 14)
            buffer[16] = UInt8(ascii: ":")
            put(seconds % 60, width: 2, at: 17)
            buffer[19] = UInt8(ascii: ".")
            put(fraction, width: 6, at: 20)
            buffer[26] = UInt8(ascii: "Z")
        }
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
