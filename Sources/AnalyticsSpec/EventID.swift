/// An event's idempotency key: a UUID, kept as its 128 bits.
public struct EventID: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let high: UInt64
    public let low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// Parses the canonical 8-4-4-4-12 form, in either case.
    public init?(_ text: some StringProtocol) {
        var high: UInt64 = 0
        var low: UInt64 = 0
        var digits = 0
        for (offset, byte) in text.utf8.enumerated() {
            if offset == 8 || offset == 13 || offset == 18 || offset == 23 {
                guard byte == UInt8(ascii: "-") else { return nil }
                continue
            }
            let value: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = UInt64(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): value = UInt64(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            if digits < 16 { high = high << 4 | value } else { low = low << 4 | value }
            digits += 1
        }
        guard digits == 32, text.utf8.count == 36 else { return nil }
        self.init(high: high, low: low)
    }

    /// A new UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then random bits, so IDs sort by creation time.
    public static func version7(
        unixMilliseconds: UInt64, using generator: inout some RandomNumberGenerator
    ) -> EventID {
        let randomA = generator.next() as UInt64
        let randomB = generator.next() as UInt64
        let high = (unixMilliseconds & 0xFFFF_FFFF_FFFF) << 16 | 0x7000 | (randomA & 0x0FFF)
        let low = 0x8000_0000_0000_0000 | (randomB & 0x3FFF_FFFF_FFFF_FFFF)
        return EventID(high: high, low: low)
    }

    /// The version nibble (7 for IDs this server assigns).
    public var version: Int { Int(high >> 12 & 0xF) }

    /// Lowercase canonical form.
    public var description: String {
        String(unsafeUninitializedCapacity: 36) { buffer in
            fill(buffer)
            return 36
        }
    }

    /// Appends the lowercase canonical form's 36 bytes.
    public func write(to output: inout [UInt8]) {
        output.append(count: 36, filling: fill)
    }

    private func fill(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        let digits: StaticString = "0123456789abcdef"
        var output = 0
        for nibble in 0..<32 {
            if nibble == 8 || nibble == 12 || nibble == 16 || nibble == 20 {
                buffer[output] = UInt8(ascii: "-")
                output += 1
            }
            let word = nibble < 16 ? high : low
            let value = Int(word >> UInt64(60 - (nibble % 16) * 4) & 0xF)
            buffer[output] = digits.utf8Start[value]
            output += 1
        }
    }

    public static func < (lhs: EventID, rhs: EventID) -> Bool { (lhs.high, lhs.low) < (rhs.high, rhs.low) }
}
