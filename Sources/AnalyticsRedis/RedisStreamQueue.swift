import AnalyticsCore
import AnalyticsSpec
import Synchronization

/// How a `RedisStreamQueue` names and uses its keys.
public struct RedisQueueConfiguration: Sendable {
    /// Every key starts with this and a colon.
    public var keyPrefix = "analytics"
    /// The consumer group the workers share.
    public var group = "workers"
    public var visibilityTimeout: Duration = .seconds(30)
    /// Connections for reads, acknowledgements and administration (a blocking read holds one), to each server.
    public var connections = 4
    /// Connections for group-committed writes to each server, and so how many flushes may be in flight at once.
    public var writeConnections = 1
    /// Most commands one group-committed round trip carries; a single write with more goes alone.
    public var commandsPerFlush = 10_000
    /// Streams the queue is split into: nil for the default, one on a server and `defaultClusterPartitions` on
    /// a cluster. A partition's keys depend on its number alone, so raising the count keeps every partition
    /// there was; lower it only with the queue drained, since nothing reads a partition past the count.
    public var partitions: Int?
    /// Replicas that must acknowledge each group-committed write (`WAIT`) before it counts as queued.
    public var replicaWait: ReplicaWait?
    /// Longest a `reserve` blocks on one partition of several before it looks at all of them again.
    public var partitionWait: Duration = .milliseconds(250)

    /// 16: a power of two, so that 2, 4, 8 or 16 masters with even shares of the slots hold as many
    /// partitions each, and 3 masters hold 6, 5 and 5.
    public static let defaultClusterPartitions = 16
    public static let maximumPartitions = 1024

    public init() {}
}

/// An `EventQueue` on a Redis stream, handed out in leases of whole batches.
///
/// - `enqueue`: `XADD` to `<prefix>:events`, group-committed: concurrent calls share one pipelined round
///   trip, and each returns once Redis has answered for its own entries. A batch is wrapped in
///   `MULTI`/`EXEC`, so it is added whole or not at all.
/// - An entry holds the event's payload in `e`; a retried one also holds its attempt in `a` and the last
///   error in `r`. An entry without `a` is a first attempt.
/// - `reserve`: in one `MULTI`/`EXEC`, `XREADGROUP … NOACK` of the consumer group (its last delivered ID is
///   the stream's read cursor) between two scripts that record the range it read as one lease in the hash
///   `<prefix>:leases`: `(first, last]`, how many entries of it are pending, how often it was handed out,
///   its holder and until when. A consumer group's own pending list would cost Redis an entry, and a
///   command in the append-only file, per event; a lease costs one field per batch.
/// - An entry is pending while it is in the stream inside a lease. `ack` drops a lease whose holder
///   acknowledges all of it (the usual case), and otherwise `XDEL`s the entries one by one; the stream is
///   then trimmed (`XTRIM MINID`) up to the oldest lease, or up to the cursor when none is left.
/// - `retry`: atomically (Lua) taken out of its lease and put in the sorted set `<prefix>:delayed`, scored by
///   when it is due; due entries are moved back to the stream by another script before each read.
/// - `deadLetter`: atomically moved to the stream `<prefix>:dead` with the reason and the attempt count.
///   Both act only when the entry is still pending, so that a delivery another consumer reclaimed and
///   acknowledged is not moved as well, and running a script twice moves nothing twice.
/// - `reclaim`: leases whose time ran out (Redis's clock) are handed to the caller, whole or split at
///   `max` entries, each handed out once more; `touch` extends the leases holding the given entries.
///   Entries that an earlier version left in the group's pending list go back to the end of the stream
///   first, and no trim passes them meanwhile.
///
/// Partitions: the queue is one such stream with its keys, or, for a cluster (or when asked), several
/// partitions, each with the keys above under `<prefix>:{<tag>}:` (`analytics:{p3}:events`), a hash tag of
/// its own chosen so that the partitions' slots spread evenly over the slot space, and so over the masters
/// (on one server, partition 0 keeps the keys without a tag).
/// `enqueue` sends each call's events to the next partition in turn (one call's events stay together, in
/// one transaction); `reserve` fills its batch from the partitions in turn, starting from a different one
/// each time, and, when all are empty, blocks on one of them for `partitionWait` at most, so an idle queue
/// delivers within that. Order is kept within a partition, not across them. A delivery's ID names its
/// partition (`3/1717171717171-0`). Rate-limit buckets of a partitioned queue live in one slot of their own
/// (`<prefix>:{limits}:limit:…`): the draw is decided there for every bucket at once, exactly, and the
/// events are added to their partition next, so a failure between the two loses the tokens drawn (never
/// lets more through than the limits allow).
///
/// Durability is Redis's: run it with `appendonly yes` and `appendfsync everysec` (at most a second of
/// acknowledged writes can be lost if the machine itself fails), or `appendfsync always` for none.
public final class RedisStreamQueue: EventQueue {
    public let visibilityTimeout: Duration
    private let topology: RedisTopology<RedisQueueNode>
    private let partitions: [RedisStreamPartition]
    /// Whether delivery IDs carry their partition: false only for one partition on one server, whose keys
    /// and IDs are what they were before partitions existed.
    private let qualified: Bool
    private let cluster: Bool
    private let partitionWait: Duration
    /// The slot of the rate-limit buckets of a partitioned queue.
    private let limitsSlot: Int
    /// Rate-limited enqueues paid from tokens leased earlier.
    private let leases = BucketLeases()
    /// The next partition to add to, and the next to read first.
    private let turn = Atomic<Int>(0)

    public init(url: String, configuration: RedisQueueConfiguration = RedisQueueConfiguration(), clock: any WallClock = SystemClock()) throws {
        let redis = try RedisConfiguration(url: url)
        visibilityTimeout = configuration.visibilityTimeout
        // Never zero: an idle worker would sweep the partitions back to back.
        partitionWait = max(configuration.partitionWait, .milliseconds(1))
        let count = configuration.partitions ?? (redis.isCluster ? RedisQueueConfiguration.defaultClusterPartitions : 1)
        guard (1...RedisQueueConfiguration.maximumPartitions).contains(count) else {
            throw RedisError.connection("partitions must be between 1 and \(RedisQueueConfiguration.maximumPartitions), not \(count)")
        }
        qualified = count > 1 || redis.isCluster
        cluster = redis.isCluster
        let prefix = configuration.keyPrefix
        if redis.isCluster, prefix.contains("{") || prefix.contains("}") {
            throw RedisError.connection("a cluster's key prefix may not hold { or }, which would put every partition in one slot: \(prefix)")
        }
        // Buckets on one server keep their keys whatever the count, so that changing it refills none; on a
        // cluster they share a slot of their own.
        let limitsPrefix = redis.isCluster ? "\(prefix):{limits}" : prefix
        limitsSlot = RedisSlot.of(limitsPrefix + ":limit:")
        let writes = PipelinedWrites(replicas: configuration.replicaWait)
        let limitedAdds = LimitedAdds(
            streamKey: Array((limitsPrefix + (redis.isCluster ? ":unused" : ":events")).utf8), bucketPrefix: limitsPrefix + ":limit:",
            // Bucket writes wait for replicas too: a failover that lost them would refill the buckets.
            replicas: configuration.replicaWait)
        let topology = RedisTopology<RedisQueueNode>(
            configuration: redis,
            makeNode: { RedisQueueNode($0, configuration: configuration, writes: writes, limitedAdds: limitedAdds) },
            client: { $0.client }, close: { await $0.shutdown() })
        self.topology = topology
        let cluster = cluster
        partitions = (0..<count).map { index in
            // On one server, partition 0 keeps the keys of a queue without partitions, so that raising the
            // count from 1 leaves nothing behind; on a cluster every partition's keys share a tag.
            RedisStreamPartition(
                keyPrefix: index == 0 && !cluster ? prefix : "\(prefix):{\(Self.tag(of: index))}", group: configuration.group,
                visibilityTimeout: configuration.visibilityTimeout, topology: topology, clock: clock)
        }
    }

    /// The hash tag of partition `index`: the first of `p<index>`, `p<index>.1`, `p<index>.2`, … whose slot lies
    /// in the partition's cell of the slot space: the slots split into 1,024 cells, partition `index` in the
    /// cell numbered by `index`'s ten bits reversed (0, 512, 256, 768, 128, …). So a partition's keys do not
    /// depend on how many there are, and the first `n` partitions spread over the slots as evenly as `n`
    /// points can: exactly for a power of two, and so over masters that split the slots evenly.
    static func tag(of index: Int) -> String {
        precondition((0..<RedisQueueConfiguration.maximumPartitions).contains(index))
        var cell = 0
        for bit in 0..<10 where index & (1 << bit) != 0 { cell |= 1 << (9 - bit) }
        let width = RedisSlot.count / 1024
        let slots = (cell * width)..<((cell + 1) * width)
        if slots.contains(RedisSlot.of("p\(index)")) { return "p\(index)" }
        for attempt in 1... where slots.contains(RedisSlot.of("p\(index).\(attempt)")) { return "p\(index).\(attempt)" }
        fatalError("unreachable: every cell of the slots is some tag's")
    }

    /// The partitions' stream keys, in order (for operators and tests).
    public var streamKeys: [String] { partitions.map(\.streamKey) }

    /// Closes the connections.
    public func shutdown() async {
        await topology.shutdown()
    }

    // MARK: Delivery IDs

    private func qualify(_ id: DeliveryID, _ index: Int) -> DeliveryID { qualified ? "\(index)/\(id)" : id }

    /// The partition and the stream's own ID of a delivery or dead-letter ID; nil for one that names none.
    /// On one server an ID without a partition is partition 0's (one listed before the queue had
    /// partitions, whose keys partition 0 kept); on a cluster it names none.
    private func split(_ id: DeliveryID) -> (index: Int, id: String)? {
        guard qualified else { return (0, id) }
        guard let slash = id.firstIndex(of: "/") else { return cluster ? nil : (0, id) }
        let number = id[..<slash]
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }), let index = Int(number),
              partitions.indices.contains(index) else { return nil }
        return (index, String(id[id.index(after: slash)...]))
    }

    private func qualified(_ deliveries: [Delivery], _ index: Int) -> [Delivery] {
        guard qualified else { return deliveries }
        return deliveries.map {
            Delivery(id: qualify($0.id, index), event: $0.event, attempt: $0.attempt, lastError: $0.lastError, deliveries: $0.deliveries)
        }
    }

    /// The IDs grouped by partition, each group with the stream's own IDs.
    private func grouped(_ ids: [String]) -> [Int: [String]] {
        var groups: [Int: [String]] = [:]
        for id in ids {
            if let (index, own) = split(id) { groups[index, default: []].append(own) }
        }
        return groups
    }

    /// The partitions whose masters have not failed lately, in `order`; all of them when every one has (one
    /// try each tells whether they are back).
    private func passingOverFailures(_ order: [Int]) -> [Int] {
        let answering = order.filter { !topology.isFailing(slot: partitions[$0].slot) }
        return answering.isEmpty ? order : answering
    }

    /// Partition indices starting from the next in turn.
    private func rotation() -> [Int] {
        let start = turn.add(1, ordering: .relaxed).oldValue
        let count = partitions.count
        return (0..<count).map { (start &+ $0) % count }.map { $0 < 0 ? $0 + count : $0 }
    }

    // MARK: Producing

    public func enqueue(_ events: [Event]) async throws {
        guard !events.isEmpty else { return }
        if partitions.count == 1 { return try await partitions[0].enqueue(events) }
        let turn = Int(UInt(bitPattern: turn.add(1, ordering: .relaxed).oldValue) % UInt(partitions.count))
        let order = (0..<partitions.count).map { (turn + $0) % partitions.count }
        // The next partition in turn whose master has not failed lately.
        let index = order.first { !topology.isFailing(slot: partitions[$0].slot) } ?? turn
        do {
            try await RedisRetryWindow.$current.withValue(.seconds(1)) { try await partitions[index].enqueue(events) }
        } catch {
            // Its master is failing over (or has fewer replicas than `WAIT` asks for): noted, so that the next
            // writes pass it over for a while, and this one goes once more to a partition of another master
            // when the map names one. Events the first attempt may have added are then queued twice: stored
            // once when the sender gave them an `event_id`.
            topology.noteFailure(ofMasterOf: partitions[index].slot)
            let master = topology.master(of: partitions[index].slot)
            let others = order.filter { $0 != index }
            let other = others.first { topology.master(of: partitions[$0].slot) != master && !topology.isFailing(slot: partitions[$0].slot) }
                ?? others.first { topology.master(of: partitions[$0].slot) != master } ?? others[0]
            try await partitions[other].enqueue(events)
        }
    }

    public func enqueue(_ events: [Event], drawing draws: [BucketDraw]) async throws -> BucketVerdict {
        guard !draws.isEmpty else {
            try await enqueue(events)
            return .queued
        }
        precondition(draws.count < LimitedAdds.maximumDraws, "more buckets than the script's answer can name")
        // Paid from tokens leased earlier: a plain add, no bucket touched in Redis.
        if leases.spend(draws) {
            try await enqueue(events)
            return .queued
        }
        let sizes = leases.sizes(for: draws)
        let answer: LimitedAdds.Answer
        if qualified {
            // Drawn in the buckets' slot, then added to a partition: nothing added when refused. The tokens
            // leased are kept before the add, so that draws refused meanwhile can spend them.
            answer = try await queueUnavailable {
                try await Self.limitedAdd(LimitedAdd(events: [], draws: draws, leases: sizes, byText: false), slot: limitsSlot, on: topology)
            }
            if case .queued(let leased) = answer {
                leases.add(zip(draws, leased).map { (key: $0.key, tokens: $1) })
                try await enqueue(events)
                return .queued
            }
        } else {
            answer = try await partitions[0].enqueueAtomically(events, draws: draws, leases: sizes)
        }
        switch answer {
        case .queued(let leased):
            leases.add(zip(draws, leased).map { (key: $0.key, tokens: $1) })
            return .queued
        case .refused(let index, let retryAfter):
            // Refused by what is left in Redis, while a concurrent draw may have leased tokens meanwhile.
            if leases.spend(draws) {
                try await enqueue(events)
                return .queued
            }
            return .refused(index: index, retryAfter: retryAfter)
        }
    }

    /// One rate-limited add through the buckets' script on the master of `slot`; sent again with the
    /// script's text when Redis does not have it cached (a first use, a restart, a promoted replica).
    static func limitedAdd(_ item: LimitedAdd, slot: Int, on topology: RedisTopology<RedisQueueNode>) async throws -> LimitedAdds.Answer {
        func run(_ item: LimitedAdd) async throws -> LimitedAdds.Answer {
            try await topology.run(slot: slot) { node, asking in
                asking ? try await node.limitedAddAsking(item) : try await node.limitedWriter.submit(item)
            }
        }
        do {
            return try await run(item)
        } catch RedisError.server(let message) where message.hasPrefix(RedisClient.missingScript) {
            return try await run(LimitedAdd(events: item.events, draws: item.draws, leases: item.leases, byText: true))
        }
    }

    private func queueUnavailable<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as QueueUnavailable {
            throw error
        } catch {
            throw QueueUnavailable("\(error)")
        }
    }

    // MARK: Consuming

    public func reserve(consumer: String, max: Int, wait: Duration) async throws -> [Delivery] {
        if partitions.count == 1 { return qualified(try await partitions[0].reserve(consumer: consumer, max: max, wait: wait), 0) }
        let wanted = Swift.max(1, max)
        let deadline = ContinuousClock.now + wait
        while true {
            // The last sweep starts at or after the deadline: what arrived while the call waited is found
            // even when a sweep (a call to each partition) takes long, as on a loaded machine.
            let last = ContinuousClock.now >= deadline
            // Up to `wanted` from the partitions in turn, so that a batch fills from several.
            let order = passingOverFailures(rotation())
            var taken: [Delivery] = []
            var failure: (any Error)?
            var answered: [Int] = []
            for index in order where taken.count < wanted {
                do {
                    // One try each: a partition whose master is down is passed over, not waited for.
                    let got = try await RedisRetryWindow.$current.withValue(.zero) {
                        try await partitions[index].reserve(consumer: consumer, max: wanted - taken.count, wait: .zero)
                    }
                    taken += qualified(got, index)
                    answered.append(index)
                } catch {
                    // A partition whose master is failing over: the others are read meanwhile.
                    failure = failure ?? error
                }
            }
            if !taken.isEmpty { return taken }
            guard let index = answered.first else { throw failure ?? QueueUnavailable("no partition answered") }
            if last { return [] }
            let left = deadline - ContinuousClock.now
            guard left > .zero else { continue }
            let slice = min(left, partitionWait)
            do {
                let woken = try await RedisRetryWindow.$current.withValue(.zero) {
                    try await partitions[index].reserve(consumer: consumer, max: wanted, wait: slice)
                }
                if !woken.isEmpty { return qualified(woken, index) }
            } catch {
                // Its master failed since the sweep: noted, and the slice waited out (up to the deadline,
                // after which one last sweep follows) before the next sweep, so that a worker does not spin.
                topology.noteFailure(ofMasterOf: partitions[index].slot)
                let rest = min(slice, deadline - ContinuousClock.now)
                if rest > .zero { try await Task.sleep(for: rest) }
            }
        }
    }

    public func ack(_ ids: [DeliveryID]) async throws {
        try await eachGroup(ids) { try await $0.ack($1) }
    }

    /// `body` with each partition the IDs name and its own IDs; a partition that fails does not keep the
    /// others from theirs, and the first failure is thrown at the end.
    private func eachGroup(_ ids: [DeliveryID], _ body: (RedisStreamPartition, [String]) async throws -> Void) async throws {
        var failure: (any Error)?
        for (index, own) in grouped(ids).sorted(by: { $0.key < $1.key }) {
            do { try await body(partitions[index], own) } catch { failure = failure ?? error }
        }
        if let failure { throw failure }
    }

    /// Entry IDs without repeats, in the stream's order, as the acknowledgement script takes them; anything
    /// that is not an entry ID is left out (it names no delivery).
    static func ordered(_ ids: [DeliveryID]) -> [String] {
        var keyed: [(UInt64, UInt64, String)] = []
        keyed.reserveCapacity(ids.count)
        for id in ids {
            let parts = id.split(separator: "-", omittingEmptySubsequences: false)
            guard parts.count == 2, let milliseconds = UInt64(parts[0]), let sequence = UInt64(parts[1]) else { continue }
            keyed.append((milliseconds, sequence, id))
        }
        keyed.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var result: [String] = []
        result.reserveCapacity(keyed.count)
        for (index, item) in keyed.enumerated() where index == 0 || (keyed[index - 1].0, keyed[index - 1].1) != (item.0, item.1) {
            result.append(item.2)
        }
        return result
    }

    public func touch(_ ids: [DeliveryID], consumer: String) async throws {
        try await eachGroup(ids) { try await $0.touch($1, consumer: consumer) }
    }

    @discardableResult
    public func retry(_ delivery: Delivery, after delay: Duration, reason: String) async throws -> Bool {
        guard let (index, id) = split(delivery.id) else { return false }
        return try await partitions[index].retry(unqualified(delivery, id), after: delay, reason: reason)
    }

    @discardableResult
    public func deadLetter(_ delivery: Delivery, reason: String) async throws -> Bool {
        guard let (index, id) = split(delivery.id) else { return false }
        return try await partitions[index].deadLetter(unqualified(delivery, id), reason: reason)
    }

    private func unqualified(_ delivery: Delivery, _ id: String) -> Delivery {
        guard qualified else { return delivery }
        return Delivery(id: id, event: delivery.event, attempt: delivery.attempt, lastError: delivery.lastError, deliveries: delivery.deliveries)
    }

    public func reclaim(consumer: String, max: Int) async throws -> [Delivery] {
        if partitions.count == 1 { return qualified(try await partitions[0].reclaim(consumer: consumer, max: max), 0) }
        var claimed: [Delivery] = []
        var failure: (any Error)?
        for index in passingOverFailures(rotation()) where claimed.count < Swift.max(1, max) {
            do {
                let got = try await RedisRetryWindow.$current.withValue(.zero) {
                    try await partitions[index].reclaim(consumer: consumer, max: Swift.max(1, max) - claimed.count)
                }
                claimed += qualified(got, index)
            } catch {
                failure = failure ?? error
            }
        }
        if claimed.isEmpty, let failure { throw failure }
        return claimed
    }

    // MARK: Inspecting

    public func depth() async throws -> QueueDepth {
        var total = QueueDepth(ready: 0, pending: 0, delayed: 0, dead: 0)
        for depth in try await eachConcurrently({ try await $0.depth() }) {
            total.ready += depth.ready
            total.pending += depth.pending
            total.delayed += depth.delayed
            total.dead += depth.dead
        }
        return total
    }

    public func ages() async throws -> QueueAges {
        var oldest = QueueAges(oldestReady: nil, oldestPending: nil)
        for ages in try await eachConcurrently({ try await $0.ages() }) {
            if let ready = ages.oldestReady { oldest.oldestReady = Swift.max(oldest.oldestReady ?? .zero, ready) }
            if let pending = ages.oldestPending { oldest.oldestPending = Swift.max(oldest.oldestPending ?? .zero, pending) }
        }
        return oldest
    }

    /// `body` of every partition at once (ingestion's admission asks for the depth every 250 ms): one round
    /// trip's time, not one per partition.
    private func eachConcurrently<T: Sendable>(_ body: @escaping @Sendable (RedisStreamPartition) async throws -> T) async throws -> [T] {
        if partitions.count == 1 { return [try await body(partitions[0])] }
        return try await withThrowingTaskGroup(of: T.self) { group in
            for partition in partitions { group.addTask { try await body(partition) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    public func deadLetters(limit: Int) async throws -> [DeadLetter] {
        var all: [DeadLetter] = []
        for (index, partition) in partitions.enumerated() {
            all += try await partition.deadLetters(limit: limit).map {
                DeadLetter(id: qualify($0.id, index), event: $0.event, payload: $0.payload, attempts: $0.attempts, reason: $0.reason, failedAt: $0.failedAt)
            }
        }
        guard partitions.count > 1 else { return all }
        // The oldest first across partitions: by when each failed, then by ID.
        return Array(all.sorted { ($0.failedAt, $0.id) < ($1.failedAt, $1.id) }.prefix(Swift.max(1, limit)))
    }

    public func replayDeadLetters(ids: [String]?) async throws -> Int {
        try await eachPartition(ids) { try await $0.replayDeadLetters(ids: $1) }
    }

    public func purgeDeadLetters(ids: [String]?) async throws -> Int {
        try await eachPartition(ids) { try await $0.purgeDeadLetters(ids: $1) }
    }

    /// Runs `body` on every partition with nil, or on the partitions the IDs name with theirs.
    private func eachPartition(_ ids: [String]?, _ body: (RedisStreamPartition, [String]?) async throws -> Int) async throws -> Int {
        var total = 0
        if let ids {
            for (index, own) in grouped(ids).sorted(by: { $0.key < $1.key }) { total += try await body(partitions[index], own) }
        } else {
            for partition in partitions { total += try await body(partition, nil) }
        }
        return total
    }

    /// Succeeds when some partition answers, one try each, all at once: while a master fails over, the
    /// others take every write, so a process is still ready (a readiness check that failed on any master
    /// would take every ingestion process out of a load balancer at once).
    public func ping() async throws {
        if partitions.count == 1 { return try await partitions[0].ping() }
        let failures = try await RedisRetryWindow.$current.withValue(.zero) {
            try await eachConcurrently { partition -> QueueUnavailable? in
                do {
                    try await partition.ping()
                    return nil
                } catch {
                    return error as? QueueUnavailable ?? QueueUnavailable("\(error)")
                }
            }
        }
        if let failure = failures.first(where: { $0 != nil }) ?? nil, failures.allSatisfy({ $0 != nil }) { throw failure }
    }
}
