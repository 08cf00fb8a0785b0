import AnalyticsCore
import Synchronization

/// Which server a slot's commands go to, with the connections kept for each: for a `redis://` URL the one
/// server; for a `redis+cluster://` URL the master serving the slot, from the cluster's slot map
/// (`CLUSTER SLOTS`, asked of any node it knows, the URL's first).
///
/// In a cluster, `run` sends a call again, for up to `clusterRetryWindow`, when its slot moved (`MOVED`:
/// the map is read again and the new master takes it), when the slot is being migrated and the key has
/// left (`ASK`, `TRYAGAIN`: the call waits for the migration to end and the slot to answer `MOVED`), when
/// the cluster cannot serve the slot (`CLUSTERDOWN`, `MASTERDOWN`, `LOADING`, `READONLY`) or the master is
/// unreachable (a failover: its replica is promoted once the cluster agrees it is down). Sending again is
/// what every caller already allows for: the queue's operations are idempotent, and an event added twice is
/// stored once.
///
/// The map is held by value per call: reading it costs a lock and an array lookup.
final class RedisTopology<Node: Sendable>: Sendable {
    private struct State {
        /// The addresses of the masters serving some slot.
        var masters: [RedisNodeAddress] {
            guard let slots else { return [] }
            return Set(slots.filter { $0 >= 0 }).sorted().map { addresses[Int($0)] }
        }

        /// The master of each slot, as an index into `addresses`; nil before the map is first read.
        var slots: [Int32]?
        var addresses: [RedisNodeAddress] = []
        var nodes: [RedisNodeAddress: Node] = [:]
        /// When the map was last read, so that many calls failing at once read it once.
        var readAt: ContinuousClock.Instant?
        /// Masters that failed a call lately (unreachable, or without the replicas `WAIT` asked for), and when.
        var failures: [RedisNodeAddress: ContinuousClock.Instant] = [:]
        var shutDown = false
    }

    let configuration: RedisConfiguration
    private let makeNode: @Sendable (RedisConfiguration) -> Node
    private let client: @Sendable (Node) -> RedisClient
    private let closeNode: @Sendable (Node) async -> Void
    private let state = Mutex(State())
    /// One reader of the map at a time.
    private let reading = AsyncLock()
    /// The only node when not a cluster.
    private let single: Node?

    /// - Parameters:
    ///   - makeNode: the connections for one server (made when a slot first goes to it).
    ///   - client: a node's general-purpose client, which reads the map.
    init(
        configuration: RedisConfiguration, makeNode: @escaping @Sendable (RedisConfiguration) -> Node,
        client: @escaping @Sendable (Node) -> RedisClient, close: @escaping @Sendable (Node) async -> Void
    ) {
        self.configuration = configuration
        self.makeNode = makeNode
        self.client = client
        closeNode = close
        single = configuration.isCluster ? nil : makeNode(configuration)
    }

    var isCluster: Bool { configuration.isCluster }

    /// Runs `body` with the node serving `slot`; in a cluster, again with the node then serving it while the
    /// error is one a redirection or a failover explains, for up to `clusterRetryWindow`. After `ASK`, `body`
    /// runs once on the node the slot's key is migrating to with `asking` true: it must send `ASKING` before
    /// its command (before `MULTI`, for a transaction).
    func run<T>(slot: Int, _ body: (_ node: Node, _ asking: Bool) async throws -> T) async throws -> T {
        if let single { return try await body(single, false) }
        let deadline = ContinuousClock.now + (RedisRetryWindow.current ?? configuration.clusterRetryWindow)
        var pause: Duration = .milliseconds(20)
        var lastError: (any Error)?
        var askTarget: RedisNodeAddress?
        // Redirections followed at once; past a few in a row (a slot handed back and forth while it
        // migrates), the call waits like any other and the deadline holds.
        var redirections = 0
        while true {
            do {
                if let target = askTarget, let node = node(at: target) {
                    askTarget = nil
                    return try await body(node, true)
                }
                askTarget = nil
                return try await body(try await node(for: slot), false)
            } catch let error as RedisError {
                lastError = error
                if case .connection = error, let address = master(of: slot) { noteFailure(of: address) }
                switch Self.disposition(of: error) {
                case .fail: throw error
                case .moved(let movedSlot, let address):
                    setMaster(of: movedSlot, to: address)
                    await readMap(olderThan: .milliseconds(100))
                    redirections += 1
                    if redirections <= 5 { continue }
                case .ask(let address):
                    askTarget = address
                    redirections += 1
                    if redirections <= 5 { continue }
                case .wait:
                    await readMap(olderThan: .milliseconds(250))
                }
            }
            guard ContinuousClock.now + pause < deadline else { throw lastError ?? RedisError.connection("no master for slot \(slot)") }
            try await Task.sleep(for: pause)
            pause = min(pause * 2, .milliseconds(500))
        }
    }

    /// How long a master that failed a call counts as failing: calls that can go elsewhere do meanwhile.
    static var failureMemory: Duration { .seconds(2) }

    /// Notes that the master of `slot` failed a call (its partitions' writes go elsewhere for a while).
    func noteFailure(ofMasterOf slot: Int) {
        if let address = master(of: slot) { noteFailure(of: address) }
    }

    private func noteFailure(of address: RedisNodeAddress) {
        guard single == nil else { return }
        state.withLock { $0.failures[address] = ContinuousClock.now }
    }

    /// Whether the master of `slot` failed a call within `failureMemory`: a call that can go to another
    /// slot (a write, a sweep over partitions) passes it over rather than wait on it.
    func isFailing(slot: Int) -> Bool {
        guard single == nil else { return false }
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let index = state.slots?[slot], index >= 0, let at = state.failures[state.addresses[Int(index)]] else { return false }
            return now - at < Self.failureMemory
        }
    }

    /// The master the map names for `slot` now; nil before the map is read.
    func master(of slot: Int) -> RedisNodeAddress? {
        if single != nil { return configuration.address }
        return state.withLock { state in
            guard let index = state.slots?[slot], index >= 0 else { return nil }
            return state.addresses[Int(index)]
        }
    }

    func shutdown() async {
        let nodes = state.withLock { state in
            state.shutDown = true
            return Array(state.nodes.values)
        }
        if let single { await closeNode(single) }
        for node in nodes { await closeNode(node) }
    }

    // MARK: The map

    enum Disposition: Equatable {
        case fail
        case moved(slot: Int, to: RedisNodeAddress)
        case ask(RedisNodeAddress)
        case wait
    }

    /// What a cluster's error asks of a caller.
    static func disposition(of error: RedisError) -> Disposition {
        switch error {
        case .connection: return .wait
        case .protocolViolation: return .fail
        case .server(let message):
            if message.hasPrefix("MOVED ") { return redirection(message).map { .moved(slot: $0.0, to: $0.1) } ?? .wait }
            if message.hasPrefix("ASK ") { return redirection(message).map { .ask($0.1) } ?? .wait }
            for prefix in ["TRYAGAIN", "CLUSTERDOWN", "MASTERDOWN", "LOADING", "READONLY"] where message.hasPrefix(prefix) { return .wait }
            // A transaction whose commands were redirected as they were queued: nothing of it ran.
            if message.hasPrefix("EXECABORT"), [": MOVED ", ": ASK ", ": TRYAGAIN", ": CLUSTERDOWN"].contains(where: message.contains) { return .wait }
            return .fail
        }
    }

    /// The slot and address of `MOVED 3999 127.0.0.1:6381` (or `ASK …`); nil for an address without a host
    /// (`:6381`, the node that answered, unknown here), which a read of the map settles.
    static func redirection(_ message: String) -> (Int, RedisNodeAddress)? {
        let parts = message.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), (0..<RedisSlot.count).contains(slot), let colon = parts[2].lastIndex(of: ":"),
              let port = Int(parts[2][parts[2].index(after: colon)...]) else { return nil }
        var host = parts[2][..<colon]
        if host.hasPrefix("["), host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { return nil }
        return (slot, RedisNodeAddress(host: String(host), port: port))
    }

    private func node(for slot: Int) async throws -> Node {
        if let found = state.withLock({ state -> RedisNodeAddress? in
            guard let slots = state.slots else { return nil }
            let index = slots[slot]
            return index < 0 ? nil : state.addresses[Int(index)]
        }), let node = node(at: found) {
            return node
        }
        try await readMapOrThrow()
        guard let address = state.withLock({ state -> RedisNodeAddress? in
            guard let index = state.slots?[slot], index >= 0 else { return nil }
            return state.addresses[Int(index)]
        }), let node = node(at: address) else {
            throw RedisError.server("CLUSTERDOWN no master serves slot \(slot)")
        }
        return node
    }

    /// The node at `address`, made on first use; nil once shut down.
    private func node(at address: RedisNodeAddress) -> Node? {
        if let existing = state.withLock({ $0.nodes[address] }) { return existing }
        let made = makeNode(configuration.node(address))
        let (kept, extra) = state.withLock { state -> (Node?, Node?) in
            if state.shutDown { return (nil, made) }
            if let existing = state.nodes[address] { return (existing, made) }
            state.nodes[address] = made
            return (made, nil)
        }
        if let extra { Task { await closeNode(extra) } }
        return kept
    }

    private func setMaster(of slot: Int, to address: RedisNodeAddress) {
        state.withLock { state in
            guard state.slots != nil, (0..<RedisSlot.count).contains(slot) else { return }
            let index = state.addresses.firstIndex(of: address) ?? {
                state.addresses.append(address)
                return state.addresses.count - 1
            }()
            state.slots![slot] = Int32(index)
        }
    }

    /// Reads the map unless it was read less than `age` ago; failures are left for the call to meet.
    private func readMap(olderThan age: Duration) async {
        if let at = state.withLock({ $0.readAt }), ContinuousClock.now - at < age { return }
        try? await readMapOrThrow(olderThan: age)
    }

    private func readMapOrThrow(olderThan age: Duration = .zero) async throws {
        try await reading.withLock {
            // Another caller may have read it while this one waited.
            if let at = state.withLock({ $0.readAt }), ContinuousClock.now - at < Swift.max(age, .milliseconds(20)),
               state.withLock({ $0.slots != nil }) {
                return
            }
            // The masters the map names, in a random order so that a dead one is not always asked first,
            // then the URL's nodes.
            let known = state.withLock { $0.masters }.shuffled()
            var lastError: any Error = RedisError.connection("no cluster node answered")
            for address in known + configuration.clusterSeeds.filter({ !known.contains($0) }) {
                guard let node = node(at: address) else { throw RedisError.protocolViolation("the connections are shut down") }
                do {
                    let reply = try await client(node).command("CLUSTER", "SLOTS", timeout: .seconds(1))
                    let masters = try Self.slotMap(reply, askedOf: address)
                    install(masters)
                    return
                } catch {
                    lastError = error
                }
            }
            state.withLock { $0.readAt = ContinuousClock.now }
            throw lastError
        }
    }

    private func install(_ ranges: [(ClosedRange<Int>, RedisNodeAddress)]) {
        state.withLock { state in
            var slots = [Int32](repeating: -1, count: RedisSlot.count)
            for (range, address) in ranges {
                let index = state.addresses.firstIndex(of: address) ?? {
                    state.addresses.append(address)
                    return state.addresses.count - 1
                }()
                for slot in range where slot < RedisSlot.count { slots[slot] = Int32(index) }
            }
            state.slots = slots
            state.readAt = ContinuousClock.now
        }
    }

    /// The slot ranges and their masters from a `CLUSTER SLOTS` reply: `[start, end, [host, port, id, …],
    /// replicas…]` each. A master announced without a host (`""` or `?`) is the node that was asked.
    static func slotMap(_ reply: RedisReply, askedOf asked: RedisNodeAddress) throws -> [(ClosedRange<Int>, RedisNodeAddress)] {
        guard let ranges = reply.array else { throw RedisError.protocolViolation("CLUSTER SLOTS: \(reply)") }
        var map: [(ClosedRange<Int>, RedisNodeAddress)] = []
        for range in ranges {
            guard let parts = range.array, parts.count >= 3, let start = parts[0].integer, let end = parts[1].integer,
                  start >= 0, start <= end, let master = parts[2].array, master.count >= 2, let port = master[1].integer else {
                throw RedisError.protocolViolation("CLUSTER SLOTS: \(range)")
            }
            let host = master[0].text ?? ""
            map.append((start...end, RedisNodeAddress(host: host.isEmpty || host == "?" ? asked.host : host, port: port)))
        }
        guard !map.isEmpty else { throw RedisError.server("CLUSTERDOWN the cluster serves no slots yet") }
        return map
    }
}

/// How long a cluster's call may keep being sent again, when not `clusterRetryWindow`: shorter where
/// something else can be done meanwhile (a write sent to another master, the other partitions read).
enum RedisRetryWindow {
    @TaskLocal static var current: Duration?
}

/// A lock held across awaits, for one reader of the slot map at a time.
final class AsyncLock: Sendable {
    private let state = Mutex<(held: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func withLock<T>(_ body: () async throws -> T) async rethrows -> T {
        await acquire()
        defer { release() }
        return try await body()
    }

    private func acquire() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if !state.held {
                    state.held = true
                    return true
                }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if state.waiters.isEmpty {
                state.held = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// What operators' tools and tests ask of a cluster as a whole.
public enum RedisCluster {
    /// The masters serving slots now, each as a configuration of its own (the one server when
    /// `configuration` is not a cluster's).
    public static func masters(of configuration: RedisConfiguration) async throws -> [RedisConfiguration] {
        guard configuration.isCluster else { return [configuration] }
        var lastError: any Error = RedisError.connection("no cluster node answered")
        for seed in configuration.clusterSeeds {
            let client = RedisClient(configuration: configuration.node(seed), connections: 1)
            defer { Task { await client.shutdown() } }
            do {
                let map = try RedisTopology<RedisClient>.slotMap(try await client.command("CLUSTER", "SLOTS"), askedOf: seed)
                var seen: [RedisNodeAddress] = []
                for (_, address) in map where !seen.contains(address) { seen.append(address) }
                return seen.map { configuration.node($0) }
            } catch {
                lastError = error
            }
        }
        throw lastError
    }
}
