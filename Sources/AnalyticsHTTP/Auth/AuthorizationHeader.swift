import HTTPTypes

/// The credentials of a request's `Authorization` header.
///
/// Parsed here rather than with hummingbird-auth's `HTTPFields.bearer` and `.basic`: its Basic parser
/// returns nil for `key:` with an empty password, which is exactly what Segment's libraries send (the write
/// key as user name), and both match the scheme's case exactly, where RFC 9110 makes it case-insensitive.
enum AuthorizationHeader: Equatable {
    case bearer(Substring)
    case basic(user: String, password: String)
    /// A header that is there but neither, or Basic credentials that are not base64 of `user:password`.
    case malformed

    /// The request's credentials, or nil when it sends no `Authorization` header.
    init?(_ fields: HTTPFields) {
        guard let value = fields.value(of: .authorization) else { return nil }
        let text = Substring(value)
        guard let space = text.firstIndex(of: " ") else { self = .malformed; return }
        let scheme = text[..<space].lowercased()
        let credentials = text[text.index(after: space)...].drop { $0 == " " }
        switch scheme {
        case "bearer" where !credentials.isEmpty:
            self = .bearer(credentials)
        case "basic":
            guard let decoded = Base64.decode(credentials.utf8), let colon = decoded.firstIndex(of: UInt8(ascii: ":")) else {
                self = .malformed
                return
            }
            self = .basic(
                user: String(decoding: decoded[..<colon], as: UTF8.self),
                password: String(decoding: decoded[(colon + 1)...], as: UTF8.self))
        default:
            self = .malformed
        }
    }
}

/// Standard base64 (RFC 4648 §4), padding optional: all Basic credentials need, without Foundation.
enum Base64 {
    static func decode(_ text: some Collection<UInt8>) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(text.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        for character in text {
            if character == UInt8(ascii: "=") { padding += 1; continue }
            guard padding == 0, let value = value(character) else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                output.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        guard padding <= 2, bits < 6 else { return nil }
        return output
    }

    private static func value(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
