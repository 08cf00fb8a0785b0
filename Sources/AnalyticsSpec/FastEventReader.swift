import JSONSchemaValidation

/// Reads events straight from request bytes for the common case, without building a JSON tree or running
/// the schema validator: a compact object of the six known members whose strings have no escapes.
///
/// It hard-codes the constraints of spec/event.schema.json and only ever answers "valid, and here is the
/// event" or nil, which means "not sure: ask the validator". A nil never becomes an error by itself, so
/// the validator stays the only source of verdicts and violations. The differential tests in
/// AnalyticsSpecTests fail if this reader ever accepts what the contract refuses.
public enum FastEventReader {
    /// The event `bytes` holds, or nil when the bytes are off the fast path.
    public static func event(_ bytes: UnsafeBufferPointer<UInt8>, newID: () -> EventID) -> Event? {
        var cursor = Cursor(bytes: bytes)
        cursor.skipWhitespace()
        guard let event = cursor.object(newID: newID) else { return nil }
        cursor.skipWhitespace()
        return cursor.atEnd ? event : nil
    }

    /// The events of a batch body (POST /events), or nil when any part of it is off the fast path.
    public static func batch(_ bytes: UnsafeBufferPointer<UInt8>, newID: () -> EventID) -> [Event]? {
        var cursor = Cursor(bytes: bytes)
        cursor.skipWhitespace()
        guard cursor.take(UInt8(ascii: "[")) else { return nil }
        var events: [Event] = []
        events.reserveCapacity(bytes.count / 120)
        repeat {
            cursor.skipWhitespace()
            guard let event = cursor.object(newID: newID) else { return nil }
            events.append(event)
            guard events.count <= maximumBatchCount else { return nil }
            cursor.skipWhitespace()
        } while cursor.take(UInt8(ascii: ","))
        guard cursor.take(UInt8(ascii: "]")) else { return nil }
        cursor.skipWhitespace()
        return cursor.atEnd ? events : nil
    }

    /// Whether `text` is a valid `site_id` (the event schema's identifier, at most 128 characters).
    public static func isSiteID(_ text: String) -> Bool {
        var text = text
        return text.withUTF8 { Cursor.identifier($0, maximumLength: 128) != nil }
    }

    /// batch.schema.json's maxItems (its minItems, 1, holds by construction).
    static let maximumBatchCount = 1000

    private enum Member: Int {
        case siteID, eventType, path, timestamp, userID, eventID

        init?(_ key: UnsafeBufferPointer<UInt8>) {
            switch key.count {
            case 4 where Self.equal(key, "path"): self = .path
            case 7 where Self.equal(key, "site_id"): self = .siteID
            case 7 where Self.equal(key, "user_id"): self = .userID
            case 8 where Self.equal(key, "event_id"): self = .eventID
            case 9 where Self.equal(key, "timestamp"): self = .timestamp
            case 10 where Self.equal(key, "event_type"): self = .eventType
            default: return nil
            }
        }

        private static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ name: StaticString) -> Bool {
            name.withUTF8Buffer { $0.elementsEqual(bytes) }
        }
    }

    private struct Cursor {
        let bytes: UnsafeBufferPointer<UInt8>
        var index = 0

        var atEnd: Bool { index == bytes.count }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func take(_ byte: UInt8) -> Bool {
            guard index < bytes.count, bytes[index] == byte else { return false }
            index += 1
            return true
        }

        /// The bytes of a string without escapes or control characters, the quotes excluded.
        mutating func plainString() -> UnsafeBufferPointer<UInt8>? {
            guard take(UInt8(ascii: "\"")) else { return nil }
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if byte == UInt8(ascii: "\"") {
                    index += 1
                    return UnsafeBufferPointer(rebasing: bytes[start..<index - 1])
                }
                guard byte != UInt8(ascii: "\\"), byte >= 0x20 else { return nil }
                index += 1
            }
            return nil
        }

        mutating func takeNull() -> Bool {
            guard index + 4 <= bytes.count, bytes[index] == UInt8(ascii: "n"), bytes[index + 1] == UInt8(ascii: "u"),
                bytes[index + 2] == UInt8(ascii: "l"), bytes[index + 3] == UInt8(ascii: "l")
            else { return false }
            index += 4
            return true
        }

        mutating func object(newID: () -> EventID) -> Event? {
            guard take(UInt8(ascii: "{")) else { return nil }
            var values: [UnsafeBufferPointer<UInt8>?] = [nil, nil, nil, nil, nil, nil]
            var seen: UInt8 = 0
            repeat {
                skipWhitespace()
                guard let key = plainString(), let member = Member(key) else { return nil }
                let bit: UInt8 = 1 << member.rawValue
                guard seen & bit == 0 else { return nil }
                seen |= bit
                skipWhitespace()
                guard take(UInt8(ascii: ":")) else { return nil }
                skipWhitespace()
                if member == .userID, takeNull() {
                    // null: no user, which is what an absent member means too.
                } else {
                    guard let value = plainString() else { return nil }
                    values[member.rawValue] = value
                }
                skipWhitespace()
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return nil }
            return Self.event(values, newID: newID)
        }

        private static func event(_ values: [UnsafeBufferPointer<UInt8>?], newID: () -> EventID) -> Event? {
            guard let site = values[Member.siteID.rawValue].flatMap({ identifier($0, maximumLength: 128) }),
                let type = values[Member.eventType.rawValue].flatMap(eventType),
                let pathBytes = values[Member.path.rawValue], pathBytes.first == UInt8(ascii: "/"),
                let path = text(pathBytes, maximumLength: 2048, maximumBytes: 2048),
                let timestampBytes = values[Member.timestamp.rawValue],
                let timestamp = timestamp(timestampBytes)
            else { return nil }
            var user: String?
            if let userBytes = values[Member.userID.rawValue] {
                guard let text = text(userBytes, maximumLength: 256, maximumBytes: 256) else { return nil }
                user = text.isEmpty ? nil : text
            }
            let id: EventID
            if let idBytes = values[Member.eventID.rawValue] {
                guard let parsed = EventID(String(decoding: idBytes, as: UTF8.self)) else { return nil }
                id = parsed
            } else {
                id = newID()
            }
            return Event(id: id, siteID: site, eventType: type, path: path, userID: user, timestamp: timestamp)
        }

        /// `#/$defs/identifier`: `^[A-Za-z0-9][A-Za-z0-9._:-]*$`, 1 to `maximumLength` characters.
        static func identifier(_ bytes: UnsafeBufferPointer<UInt8>, maximumLength: Int) -> String? {
            guard let first = bytes.first, bytes.count <= maximumLength, isAlphanumeric(first) else { return nil }
            for byte in bytes.dropFirst() {
                guard isAlphanumeric(byte) || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                    || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
                else { return nil }
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        /// `event_type`: 1 to 64 code points and at most 128 bytes, no control characters (the others cannot
        /// reach here unescaped), no space at either end.
        private static func eventType(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
            guard let first = bytes.first, let last = bytes.last, first != 0x20, last != 0x20 else { return nil }
            return text(bytes, maximumLength: 64, maximumBytes: 128)
        }

        private static func isAlphanumeric(_ byte: UInt8) -> Bool {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "a")...UInt8(ascii: "z"):
                true
            default:
                false
            }
        }

        /// Valid UTF-8 without DEL (the other control characters cannot reach here unescaped), at most
        /// `maximumLength` code points and `maximumBytes` bytes.
        private static func text(_ bytes: UnsafeBufferPointer<UInt8>, maximumLength: Int, maximumBytes: Int) -> String? {
            guard bytes.count <= maximumBytes else { return nil }
            var codePoints = 0
            var ascii = true
            for byte in bytes {
                guard byte != 0x7F else { return nil }
                if byte & 0xC0 != 0x80 { codePoints += 1 }
                if byte >= 0x80 { ascii = false }
            }
            guard codePoints <= maximumLength else { return nil }
            return ascii ? String(decoding: bytes, as: UTF8.self) : String(validating: bytes, as: UTF8.self)
        }

        private static let digitOffsets = [0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 18]

        /// The timestamp's shape pattern
        /// `^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-5][0-9](\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`,
        /// with its lookaheads (no offset ahead of UTC on 0001-01-01, none behind it on 9999-12-31), at most
        /// 64 characters, and the `date-time` format; microseconds since the epoch.
        private static func timestamp(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
            guard bytes.count >= 20, bytes.count <= 64 else { return nil }
            func digit(_ offset: Int) -> Bool { bytes[offset] >= 0x30 && bytes[offset] <= 0x39 }
            for offset in digitOffsets where !digit(offset) { return nil }
            guard bytes[4] == UInt8(ascii: "-"), bytes[7] == UInt8(ascii: "-"),
                bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
                bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":"),
                bytes[17] >= UInt8(ascii: "0"), bytes[17] <= UInt8(ascii: "5")
            else { return nil }
            var offset = 19
            if bytes[offset] == UInt8(ascii: ".") {
                offset += 1
                let digitsStart = offset
                while offset < bytes.count, digit(offset) { offset += 1 }
                guard offset > digitsStart, offset < bytes.count else { return nil }
            }
            switch bytes[offset] {
            case UInt8(ascii: "Z"), UInt8(ascii: "z"):
                guard offset + 1 == bytes.count else { return nil }
            case UInt8(ascii: "+"), UInt8(ascii: "-"):
                guard offset + 6 == bytes.count, digit(offset + 1), digit(offset + 2), bytes[offset + 3] == UInt8(ascii: ":"),
                    digit(offset + 4), digit(offset + 5)
                else { return nil }
                let zeroOffset = bytes[offset + 1] == UInt8(ascii: "0") && bytes[offset + 2] == UInt8(ascii: "0")
                    && bytes[offset + 4] == UInt8(ascii: "0") && bytes[offset + 5] == UInt8(ascii: "0")
                if !zeroOffset {
                    let date = UnsafeBufferPointer(rebasing: bytes[0..<10])
                    if bytes[offset] == UInt8(ascii: "+"), date.elementsEqual("0001-01-01".utf8) { return nil }
                    if bytes[offset] == UInt8(ascii: "-"), date.elementsEqual("9999-12-31".utf8) { return nil }
                }
            default:
                return nil
            }
            guard case .success(let parsed) = RFC3339.parseDateTime(String(decoding: bytes, as: UTF8.self)) else { return nil }
            return parsed.microsecondsSinceEpoch
        }
    }
}
