import Crypto

/// The SHA-256 digest of a token or a write key: all the registry keeps of one. A leaked database or
/// log line then gives nobody a credential.
public struct SecretDigest: Sendable, Hashable, CustomStringConvertible {
    public let bytes: [UInt8]

    /// A digest read back from storage; nil unless it is 32 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        self.bytes = bytes
    }

    /// The digest of `secret`'s UTF-8 bytes.
    public init(of secret: some StringProtocol) {
        var text = String(secret)
        bytes = text.withUTF8 { Array(SHA256.hash(data: UnsafeRawBufferPointer($0))) }
    }

    /// A digest from 64 hexadecimal digits, as Postgres's `encode(…, 'hex')` gives it.
    public init?(hex: some StringProtocol) {
        let digits = Array(hex.utf8)
        guard digits.count == 64 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = Self.value(digits[index]), let low = Self.value(digits[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        self.bytes = bytes
    }

    public var hex: String { bytes.map { (($0 < 16) ? "0" : "") + String($0, radix: 16) }.joined() }
    /// Not the digest: a description must never put a credential's digest in a log line either.
    public var description: String { "SecretDigest(…)" }

    /// Compares in time that depends on neither digest's contents. swift-crypto compares its own digest
    /// types so (`SHA256Digest ==`), but offers no way to make one from stored bytes, hence this loop.
    public func matches(_ other: SecretDigest) -> Bool {
        var difference: UInt8 = 0
        for index in 0..<32 { difference |= bytes[index] ^ other.bytes[index] }
        return difference == 0
    }

    private static func value(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

/// The credentials the registry hands out. Both are random (the system's CSPRNG, `getrandom` on Linux)
/// and shown once; only their digests are stored.
///
/// - A read token is `rt_` + a 12-digit public id + `_` + 32 secret hex digits (128 bits). The id names the
///   token in `tokens list` and `tokens revoke`, and lets a check find the token without searching.
/// - A write key is `wk_` + 32 secret hex digits (128 bits).
public enum Credentials {
    public static let readTokenPrefix = "rt_"
    public static let writeKeyPrefix = "wk_"

    /// A new read token and its id.
    public static func newReadToken() -> (token: String, id: String) {
        var generator = SystemRandomNumberGenerator()
        return newReadToken(using: &generator)
    }

    public static func newReadToken(using generator: inout some RandomNumberGenerator) -> (token: String, id: String) {
        let id = hexDigits(6, using: &generator)
        return (readTokenPrefix + id + "_" + hexDigits(16, using: &generator), id)
    }

    /// A new write key.
    public static func newWriteKey() -> String {
        var generator = SystemRandomNumberGenerator()
        return writeKeyPrefix + hexDigits(16, using: &generator)
    }

    /// The public id of a read token, or nil when `token` does not have a token's shape.
    public static func readTokenID(_ token: some StringProtocol) -> Substring? {
        let utf8 = Array(token.utf8)
        guard utf8.count == 3 + 12 + 1 + 32, token.hasPrefix(readTokenPrefix), utf8[15] == UInt8(ascii: "_") else { return nil }
        let text = Substring(token)
        return text.dropFirst(3).prefix(12)
    }

    private static func hexDigits(_ bytes: Int, using generator: inout some RandomNumberGenerator) -> String {
        (0..<bytes).map { _ in
            let byte = UInt8.random(in: 0...255, using: &generator)
            return (byte < 16 ? "0" : "") + String(byte, radix: 16)
        }.joined()
    }
}
