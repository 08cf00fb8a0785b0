/// A query string's parameters, `%XX` decoded. In `event_type`, the one parameter whose values may hold
/// spaces, `+` is also a space, as browsers' `URLSearchParams`, Python's `urlencode` and HTML forms write
/// one: `event_type=Order+Completed` and `event_type=Order%20Completed` ask the same, and a plus is `%2B`.
/// Elsewhere `+` is itself, as it always was here: `tz=Etc/GMT+5` (no other parameter's valid values hold
/// a space). A value that does not decode to UTF-8 (a stray `%`) is kept as sent, and the contract judges it.
enum QueryString {
    /// The parameters in which `+` is a space.
    static let spacedByPlus: Set<String> = ["event_type"]

    static func parameters(_ query: Substring?) -> [(name: String, value: String)] {
        guard let query, !query.isEmpty else { return [] }
        return query.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            guard let equals = pair.firstIndex(of: "=") else { return (decode(pair, plusIsSpace: false), "") }
            let name = decode(pair[..<equals], plusIsSpace: false)
            return (name, decode(pair[pair.index(after: equals)...], plusIsSpace: spacedByPlus.contains(name)))
        }
    }

    static func decode(_ text: Substring, plusIsSpace: Bool) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var plain = true
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "+") where plusIsSpace:
                bytes.append(UInt8(ascii: " "))
                plain = false
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    return plusIsSpace ? String(text).replacing("+", with: " ") : String(text)
                }
                bytes.append(high << 4 | low)
                plain = false
            default:
                bytes.append(byte)
            }
        }
        if plain { return String(text) }
        return String(validating: bytes, as: UTF8.self) ?? (plusIsSpace ? String(text).replacing("+", with: " ") : String(text))
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
