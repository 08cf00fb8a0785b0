import Crypto

extension EventID {
    /// A name-based UUID (RFC 9562 version 5: SHA-1 of the namespace's 16 bytes and the name's UTF-8),
    /// the same for the same namespace and name on any machine and in any language (Python's
    /// `uuid.uuid5`).
    public static func version5(namespace: EventID, name: some StringProtocol) -> EventID {
        var input: [UInt8] = []
        input.reserveCapacity(16 + name.utf8.count)
        for shift in stride(from: 56, through: 0, by: -8) { input.append(UInt8(truncatingIfNeeded: namespace.high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { input.append(UInt8(truncatingIfNeeded: namespace.low >> UInt64(shift))) }
        input.append(contentsOf: name.utf8)
        let digest = Array(Insecure.SHA1.hash(data: input))
        var high: UInt64 = 0
        var low: UInt64 = 0
        for index in 0..<8 { high = high << 8 | UInt64(digest[index]) }
        for index in 8..<16 { low = low << 8 | UInt64(digest[index]) }
        high = high & ~0xF000 | 0x5000
        low = low & 0x3FFF_FFFF_FFFF_FFFF | 0x8000_0000_0000_0000
        return EventID(high: high, low: low)
    }
}
