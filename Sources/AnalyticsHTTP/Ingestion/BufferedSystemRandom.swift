import Glibc
import Synchronization

/// The system's random numbers (/dev/urandom), read 4 KiB at a time: the standard generator makes a
/// `getrandom` system call per 8 bytes, which cost ingestion a system call per assigned event ID.
struct BufferedSystemRandom: RandomNumberGenerator, Sendable {
    private static let pool = Mutex(Pool())

    private struct Pool {
        let device = open("/dev/urandom", O_RDONLY | O_CLOEXEC)
        var words = [UInt64](repeating: 0, count: 512)
        var next = 512

        mutating func refill() {
            words.withUnsafeMutableBytes { raw in
                var filled = 0
                while filled < raw.count {
                    let count = device < 0 ? -1 : read(device, raw.baseAddress! + filled, raw.count - filled)
                    if count > 0 {
                        filled += count
                    } else if !(device >= 0 && count < 0 && errno == EINTR) {
                        var fallback = SystemRandomNumberGenerator()
                        for index in stride(from: filled, to: raw.count, by: 1) { raw[index] = fallback.next() }
                        filled = raw.count
                    }
                }
            }
            next = 0
        }
    }

    mutating func next() -> UInt64 {
        Self.pool.withLock { pool in
            if pool.next == pool.words.count { pool.refill() }
            defer { pool.next += 1 }
            return pool.words[pool.next]
        }
    }
}
