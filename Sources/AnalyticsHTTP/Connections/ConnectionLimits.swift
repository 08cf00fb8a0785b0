import Dispatch
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// How long a connection may take at each step, and how many may be open: nginx's
/// `client_header_timeout`, `client_body_timeout` and `keepalive_timeout`, and connection caps that close
/// what is over them at once.
public struct ConnectionLimits: Sendable {
    /// From a request's first byte to the end of its headers.
    public var headerTimeout: Duration = .seconds(10)
    /// Between two reads of a request's body.
    public var bodyReadTimeout: Duration = .seconds(10)
    /// From a connection's opening, or the end of a response, to the next request's first byte.
    public var keepAliveTimeout: Duration = .seconds(30)
    /// Connections open at once; more are closed as soon as they are accepted.
    public var maximumConnections = ConnectionLimits.defaultMaximumConnections
    /// Connections open at once from one address (an IPv6 client's /64); `exempt` addresses (trusted
    /// proxies) are not counted.
    public var maximumConnectionsPerAddress = 256
    public var exempt: [IPAddressRange] = []

    public init() {}

    /// A quarter of the process's file descriptors (at least 64, at most 16,384) for each port, so that
    /// `serve`'s two ports together leave half for the connections to Redis and Postgres, and the logs.
    public static var defaultMaximumConnections: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return max(64, min(16_384, Int(clamping: limit.rlim_cur) / 4))
    }
}

/// The connections open now, in all and by address, shared by every event loop of a server.
final class ConnectionCounter: Sendable {
    private struct Counts {
        var total = 0
        var byAddress: [IPAddress: Int] = [:]
        /// The most open since memory was last handed back.
        var peak = 0
        /// When memory was last handed back, and whether a hand-back is due.
        var trimmed = ContinuousClock.now - .seconds(60)
        var trimDue = false
    }

    private let counts = Mutex(Counts())
    let limits: ConnectionLimits

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    /// Counts a new connection from `address` and returns true, or returns false (and counts nothing)
    /// when a cap is reached.
    /// What a connection from `address` counts under: nothing for a trusted proxy, the /64 of an IPv6
    /// address (one host commonly holds a whole /64), an IPv4 address itself.
    private func key(_ address: IPAddress?) -> IPAddress? {
        guard let address, !limits.exempt.contains(where: { $0.contains(address) }) else { return nil }
        return address.bytes.count == 16 ? IPAddress(bytes: Array(address.bytes[0..<8]) + [UInt8](repeating: 0, count: 8)) : address
    }

    func open(from address: IPAddress?) -> Bool {
        let counted = key(address)
        return counts.withLock { counts in
            guard counts.total < limits.maximumConnections else { return false }
            if let counted {
                guard counts.byAddress[counted, default: 0] < limits.maximumConnectionsPerAddress else { return false }
                counts.byAddress[counted, default: 0] += 1
            }
            counts.total += 1
            counts.peak = max(counts.peak, counts.total)
            return true
        }
    }

    func close(from address: IPAddress?) {
        let counted = key(address)
        let trimAfter = counts.withLock { counts -> Duration? in
            counts.total -= 1
            if let counted {
                let left = counts.byAddress[counted, default: 1] - 1
                counts.byAddress[counted] = left > 0 ? left : nil
            }
            guard counts.peak >= 64, counts.total <= counts.peak / 4 else { return nil }
            counts.peak = counts.total
            guard !counts.trimDue else { return nil }
            counts.trimDue = true
            // At most one every 10 s, whatever clients do: a trim walks every arena under its lock.
            return max(.zero, .seconds(10) - (ContinuousClock.now - counts.trimmed))
        }
        // After a wave of connections (thousands of slow clients, say) has gone, the allocator keeps what
        // they used unless told to hand it back: resident memory would stay at the wave's height.
        if let trimAfter {
            DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + .nanoseconds(Int(trimAfter.components.seconds) * 1_000_000_000 + Int(trimAfter.components.attoseconds / 1_000_000_000))) {
                self.counts.withLock {
                    $0.trimDue = false
                    $0.trimmed = .now
                }
                _ = handBackFreeMemory(0)
            }
        }
    }

    var open: Int { counts.withLock { $0.total } }
}

/// glibc's `malloc_trim`, which the Glibc module does not export: returns free memory of every arena to
/// the system.
@_silgen_name("malloc_trim")
private func handBackFreeMemory(_ pad: Int) -> Int32
