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
    /// How long a process uses the key it read before reading it again: if the store lost it (a Redis
    /// restart without persistence, a failover), every process is back on one key within this time.
    public static let refreshInterval: Duration = .seconds(60)

    private struct Cached {
        var day: CalendarDate
        var key: [UInt8]
        var readAt: Duration
    }

    private struct State {
        var cached: Cached?
        /// The one read in flight, so that the first hits of a day, or of a minute, make one round trip.
        var reading: Task<[UInt8], any Error>?
        var readingDay: CalendarDate?
    }

    private let store: any VisitorKeyStore
    private let clock: any MonotonicClock
    private let state = Mutex(State())

    public init(store: any VisitorKeyStore, clock: any MonotonicClock = SystemMonotonicClock()) {
        self.store = store
        self.clock = clock
    }

    /// The visitor id of a hit on `day`.
    public func visitor(day: CalendarDate, site: String, address: [UInt8], userAgent: String) async throws -> String {
        Self.visitor(key: try await key(for: day), site: site, address: address, userAgent: userAgent)
    }

    /// The key of `day`: the one read less than `refreshInterval` ago, else read again (one read at a time).
    public func key(for day: CalendarDate) async throws -> [UInt8] {
        let now = clock.elapsed
        let store = self.store
        let (fresh, task) = state.withLock { state -> ([UInt8]?, Task<[UInt8], any Error>?) in
            if let cached = state.cached, cached.day == day, now - cached.readAt < Self.refreshInterval { return (cached.key, nil) }
            if let reading = state.reading, state.readingDay == day { return (nil, reading) }
            let reading = Task { try await store.key(for: day) }
            state.reading = reading
            state.readingDay = day
            return (nil, reading)
        }
        if let fresh { return fresh }
        let result = await task!.result
        return try state.withLock { state in
            if state.reading == task { state.reading = nil }
            switch result {
            case .success(let key):
                if state.cached.map({ $0.day <= day }) ?? true { state.cached = Cached(day: day, key: key, readAt: now) }
                return key
            case .failure(let error):
                // The store is away: the day's key read earlier still serves, and is read again in 5 s.
                guard var cached = state.cached, cached.day == day else { throw error }
                cached.readAt = now - Self.refreshInterval + .seconds(5)
                state.cached = cached
                return cached.key
            }
        }
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
