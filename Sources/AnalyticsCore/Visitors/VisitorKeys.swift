import AnalyticsSpec
import JSONSchemaValidation
import Crypto
import Synchronization

/// The visitor ids of the script tag's hits: a keyed hash of the site, the client's address and its
/// User-Agent, with a key that changes every UTC day (Plausible's scheme). The same browser on the same
/// address is one visitor for a day, on every ingestion process, without a cookie or anything stored in
/// the browser; the next day it is another, and yesterday's ids cannot be tied to today's or to an address
/// once the key is gone. The current day's key is fetched from the store once a day per process.
public final class VisitorKeys: Sendable {
    /// The bytes of a day's key.
    public static let keyBytes = 32

    private let store: any VisitorKeyStore
    private let cached = Mutex<(day: CalendarDate, key: [UInt8])?>(nil)

    public init(store: any VisitorKeyStore) {
        self.store = store
    }

    /// The visitor id of a hit on `day`.
    public func visitor(day: CalendarDate, site: String, address: [UInt8], userAgent: String) async throws -> String {
        let key: [UInt8]
        if let hit = cached.withLock({ $0?.day == day ? $0?.key : nil }) {
            key = hit
        } else {
            key = try await store.key(for: day)
            cached.withLock { $0 = (day, key) }
        }
        return Self.visitor(key: key, site: site, address: address, userAgent: userAgent)
    }

    /// `v` and the first 16 bytes, in hex, of HMAC-SHA256 under `key` of the site's UTF-8, a line feed, the
    /// address's 4 or 16 bytes, a line feed, and the User-Agent's UTF-8.
    public static func visitor(key: [UInt8], site: String, address: [UInt8], userAgent: String) -> String {
        var message: [UInt8] = Array(site.utf8)
        message.append(0x0A)
        message.append(contentsOf: address)
        message.append(0x0A)
        message.append(contentsOf: userAgent.utf8)
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key))
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var text: [UInt8] = [UInt8(ascii: "v")]
        for byte in Array(mac).prefix(16) {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0xF)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// A new random key from the system's CSPRNG.
    public static func newKey() -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<keyBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }
}
