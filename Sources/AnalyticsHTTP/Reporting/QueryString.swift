/// A query string read as browsers' `URLSearchParams`, Python's `urlencode` and HTML forms write one
/// (application/x-www-form-urlencoded): `+` is a space and `%XX` a byte, so `event_type=Order+Completed`
/// and `event_type=Order%20Completed` ask the same. A literal plus is `%2B`. A value that does not decode
/// to UTF-8 (a stray `%`) is kept as sent, with its pluses read as spaces, and the contract judges it.
enum QueryString {
    static func parameters(_ query: Substring?) -> [(name: String, value: String)] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            guard let equals = pair.firstIndex(of: "=") else { return (decode(pair), "") }
            return (decode(pair[..<equals]), decode(pair[pair.index(after: equals)...]))
        }
    }

    static func decode(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var plain = true
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+"):
                bytes.append(UInt8(ascii: " "))
                plain = false
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return String(text).replacing("+", with: " ")
                }
                bytes.append(high << 4 | low)
                plain = false
            default:
                bytes.append(byte)
            }
        }
        if plain { return String(text) }
        return String(validating: bytes, as: UTF8.self) ?? String(text).replacing("+", with: " ")
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
