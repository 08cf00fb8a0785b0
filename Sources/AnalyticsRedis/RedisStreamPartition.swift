import AnalyticsCore
import AnalyticsSpec
import JSONSchemaValidation
import Synchronization

/// One partition of a `RedisStreamQueue`: a stream with its consumer group, leases, delayed retries and
/// dead letters, whose keys share one hash tag, so that in a cluster they are in one slot and every script
/// and transaction on them runs on one master. What each operation does is told in `RedisStreamQueue`'s
/// documentation.
final class RedisStreamPartition: Sendable {
    let visibilityTimeout: Duration
    let slot: Int
    private let topology: RedisTopology<RedisQueueNode>
    private let client: RedisSlotRunner<RedisQueueNode>
    private let streamKeyBytes: [UInt8]
    private let clock: any WallClock
    private let group: String
    let streamKey: String
    private let delayedKey: String
    private let deadKey: String
    private let leasesKey: String
    private let commandTimeout: Duration
    private let groupReady = Mutex(false)

    /// - Parameter keyPrefix: what every key of the partition starts with, before a colon: the queue's
    ///   prefix alone for a queue of one partition on one server, or with the partition's hash tag.
    init(keyPrefix: String, group: String, visibilityTimeout: Duration, topology: RedisTopology<RedisQueueNode>, clock: any WallClock) {
        self.visibilityTimeout = visibilityTimeout
        self.topology = topology
        self.clock = clock
        self.group = group
        streamKey = keyPrefix + ":events"
        streamKeyBytes = Array(streamKey.utf8)
        delayedKey = keyPrefix + ":delayed"
        deadKey = keyPrefix + ":dead"
        leasesKey = keyPrefix + ":leases"
        slot = RedisSlot.of(streamKey)
        client = RedisSlotRunner(topology: topology, slot: slot) { $0.client }
        commandTimeout = topology.configuration.commandTimeout
    }

    // MARK: Errors

    /// Runs `body`, turning every Redis failure into `QueueUnavailable`. It runs `body` once more when a
    /// pooled connection turns out to be dead (Redis restarted since it was opened), and recreates the
    /// consumer group if Redis lost it (a restart without persistence, a FLUSHALL). Running an operation
    /// twice is safe: acknowledgements and scripts are idempotent, and an event added twice is stored once.
    @discardableResult
    private func queueCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            do {
                try await ensureGroup()
                return try await body()
            } catch RedisError.server(let message) where message.hasPrefix("NOGROUP") {
                groupReady.withLock { $0 = false }
                try await ensureGroup()
                return try await body()
            } catch RedisError.connection where !topology.isCluster {
                // On a cluster, `RedisTopology.run` has sent it again for its whole window already.
                try await ensureGroup()
                return try await body()
            }
        } catch let error as RedisError {
            throw QueueUnavailable(error.description)
        } catch let error as QueueUnavailable {
            throw error
        } catch {
            throw QueueUnavailable("\(error)")
        }
    }

    private func ensureGroup() async throws {
        guard !groupReady.withLock({ $0 }) else { return }
        // From ID 0, so events added before any worker started are delivered too.
        let reply = try await client.pipeline([["XGROUP", "CREATE", .init(streamKey), .init(group), "0", "MKSTREAM"]])[0]
        if case .error(let message) = reply, !message.hasPrefix("BUSYGROUP") { throw RedisError.server(message) }
        groupReady.withLock { $0 = true }
    }

    // MARK: Producing

    /// Adds the events to this partition's stream, group-committed with every other write to its master.
    func enqueue(_ events: [Event]) async throws {
        guard !events.isEmpty else { return }
        try await queueCall {
            try await topology.run(slot: slot) { node, asking in
                if asking { try await node.writeAsking(addRequest(events)) } else { try await node.writer.submit(addRequest(events)) }
            }
        }
    }

    /// Checks and draws the buckets and adds the events in one script on the partition's master: the one
    /// atomic step of a queue of one partition, whose buckets are in the stream's slot.
    func enqueueAtomically(_ events: [Event], draws: [BucketDraw], leases sizes: [Int]) async throws -> LimitedAdds.Answer {
        try await queueCall { try await RedisStreamQueue.limitedAdd(LimitedAdd(events: events, draws: draws, leases: sizes, byText: false), slot: slot, on: topology) }
    }

    /// `XADD <stream> * e <payload>` for each event, in MULTI/EXEC when there are several, written
    /// straight into the protocol's form.
    private func addRequest(_ events: [Event]) -> RESPRequest {
        var request = RESPRequest(capacity: events.count * (200 + streamKeyBytes.count))
        if events.count > 1 { request.append(["MULTI"]) }
        for event in events {
            request.beginCommand(arguments: 5)
            request.appendArgument(Self.xadd)
            request.appendArgument(streamKeyBytes)
            request.appendArgument(Self.star)
            request.appendArgument(Self.payloadField)
            request.appendArgument { EventCodec.write(event, to: &$0) }
        }
        if events.count > 1 { request.append(["EXEC"]) }
        return request
    }

    private static let xadd = Array("XADD".utf8)
    private static let star = Array("*".utf8)
    private static let payloadField = Array("e".utf8)

    // MARK: Consuming

    func reserve(consumer: String, max: Int, wait: Duration) async throws -> [Delivery] {
        try await queueCall {
            let deadline = ContinuousClock.now + wait
            var promote = true
            while true {
                // Due retries move to the stream first, and again after a wait that nothing ended; not after
                // a wake for new entries, whose events would wait for one more round trip.
                if promote { try await promoteDueRetries() }
                let (lease, entries, cursor) = try await take(consumer: consumer, max: Swift.max(1, max))
                // Once entries are leased, the calls that hand them out take the whole retry window, whatever
                // a caller asked for the read: given up, they would wait out the visibility timeout.
                if let lease {
                    // Exactly how many entries the lease holds, which only the reply tells; then the
                    // undecodable ones leave it for the dead letters.
                    return try await RedisRetryWindow.$current.withValue(nil) {
                        try await client.evaluate(RedisStreamQueue.countScript, keys: [.init(leasesKey)], arguments: [.init(lease), .init(entries.count)])
                        return try await deliveries(from: entries)
                    }
                }
                if !entries.isEmpty { return try await RedisRetryWindow.$current.withValue(nil) { try await deliveries(from: entries) } }
                let left = deadline - ContinuousClock.now
                guard left > .zero, let cursor else { return [] }
                // Until an entry after the cursor arrives; another consumer may take it first, and then this
                // one waits again for what is left of `wait`.
                let milliseconds = Swift.max(1, left.microseconds / 1000)
                let woken = try await client.command(
                    ["XREAD", "COUNT", "1", "BLOCK", .init(milliseconds), "STREAMS", .init(streamKey), .init(cursor)],
                    timeout: left + commandTimeout)
                promote = woken == .null
            }
        }
    }

    /// Up to `max` entries after the cursor, leased to `consumer` in one transaction: the lease's key (nil
    /// when there was nothing to read), the entries, and the cursor.
    private func take(consumer: String, max: Int) async throws -> (lease: String?, entries: [RedisReply], cursor: String?) {
        let keys: [RedisArgument] = [.init(streamKey), .init(leasesKey)]
        // The read moves the cursor whether or not the scripts around it run, and a transaction does not stop
        // at a command's error. So it holds, first, plain commands of what the scripts need: one that Redis
        // refuses under `maxmemory` (`HSET`) makes it refuse the whole transaction then, and a command the
        // user may not run (an ACL without `+@hash` or `+time`) aborts it as it is queued. EVAL with the
        // text, not EVALSHA: a script missing from the cache would fail inside the transaction.
        let replies = try await client.pipeline([
            ["MULTI"],
            ["HSET", .init(leasesKey), "@", "reading"],
            ["TIME"],
            RedisStreamQueue.cursorScript.command(keys: keys, arguments: [.init(group)], byText: true),
            ["XREADGROUP", "GROUP", .init(group), .init(consumer), "COUNT", .init(max), "NOACK", "STREAMS", .init(streamKey), ">"],
            RedisStreamQueue.leaseScript.command(
                keys: keys, arguments: [.init(group), .init(consumer), .init(visibilityTimeout.microseconds / 1000)], byText: true),
            ["EXEC"],
        ])
        guard case .array(let results) = try RedisClient.checked(replies[6]), results.count == 5 else {
            throw RedisError.protocolViolation("EXEC: \(replies[6])")
        }
        // A missing group fails the read (NOGROUP), which `queueCall` answers by creating it.
        let read = try RedisClient.checked(results[3])
        let entries = read.array?.first?.array?.last?.array ?? []
        let leased = results[4].array ?? []
        var key = leased.first?.text.flatMap { $0.isEmpty ? nil : $0 }
        let cursor = leased.count > 1 ? leased[1].text.flatMap { $0.isEmpty ? nil : $0 } : nil
        let scriptsFailed = results[2].isError || results[4].isError
        if !entries.isEmpty, key == nil || scriptsFailed,
           let first = entries.first?.array?.first?.text, let last = entries.last?.array?.first?.text {
            // Read, but not leased (a script failed after all): leased now, before anything is handed out.
            // Should that fail too, the events are handed out all the same: stored by this worker unless it
            // dies first, where dropping them would lose them for certain.
            key = try? await client.evaluate(
                RedisStreamQueue.recoverScript, keys: keys,
                arguments: [.init(first), .init(last), .init(consumer), .init(visibilityTimeout.microseconds / 1000)]
            ).text
        }
        if scriptsFailed, entries.isEmpty { _ = try RedisClient.checked(results[2]); _ = try RedisClient.checked(results[4]) }
        return (key, entries, cursor)
    }

    /// Turns stream entries into deliveries handed out `count` times; an entry that cannot be decoded is
    /// dead-lettered at once.
    private func deliveries(from entries: [RedisReply], count: Int = 1) async throws -> [Delivery] {
        var result: [Delivery] = []
        result.reserveCapacity(entries.count)
        for entry in entries {
            guard let parts = entry.array, parts.count == 2, let id = parts[0].text, let fields = parts[1].array else { continue }
            let payload = Self.value(of: "e", in: fields)
            guard let payload, let event = EventCodec.decode(payload) else {
                try await client.evaluate(
                    RedisStreamQueue.deadLetterScript, keys: [.init(streamKey), .init(deadKey), .init(leasesKey)],
                    arguments: [.init(id), .init(group), .init(bytes: payload ?? []), "1", "undecodable queue entry", .init(clock.unixMilliseconds)])
                continue
            }
            let attempt = Self.text(of: "a", in: fields).flatMap { Int($0) } ?? 1
            result.append(Delivery(id: id, event: event, attempt: attempt, lastError: Self.text(of: "r", in: fields), deliveries: count))
        }
        return result
    }

    /// The value of the one-letter field `name` in an entry's flat list of fields and values.
    private static func value(of name: Unicode.Scalar, in fields: [RedisReply]) -> [UInt8]? {
        var index = 0
        while index + 1 < fields.count {
            if case .string(let field) = fields[index], field.count == 1, field[0] == UInt8(ascii: name),
               case .string(let value) = fields[index + 1] {
                return value
            }
            index += 2
        }
        return nil
    }

    private static func text(of name: Unicode.Scalar, in fields: [RedisReply]) -> String? {
        value(of: name, in: fields).map { String(decoding: $0, as: UTF8.self) }
    }

    func ack(_ ids: [DeliveryID]) async throws {
        guard !ids.isEmpty else { return }
        let ordered = RedisStreamQueue.ordered(ids)
        guard let first = ordered.first, let last = ordered.last else { return }
        try await queueCall {
            let keys: [RedisArgument] = [.init(streamKey), .init(leasesKey)]
            // The usual case costs Redis three arguments, not one per event: a whole lease, told by its size
            // and its first and last IDs.
            let whole = try await client.evaluate(
                RedisStreamQueue.ackWholeScript, keys: keys, arguments: [.init(group), .init(ordered.count), .init(first), .init(last)])
            guard whole.integer != 1 else { return }
            try await client.evaluate(RedisStreamQueue.ackScript, keys: keys, arguments: [.init(group)] + ordered.map { RedisArgument($0) })
        }
    }

    func touch(_ ids: [DeliveryID], consumer: String) async throws {
        guard !ids.isEmpty else { return }
        try await queueCall {
            try await client.evaluate(
                RedisStreamQueue.touchScript, keys: [.init(streamKey), .init(leasesKey)],
                arguments: [.init(consumer), .init(visibilityTimeout.microseconds / 1000)] + RedisStreamQueue.ordered(ids).map { RedisArgument($0) })
        }
    }

    @discardableResult
    func retry(_ delivery: Delivery, after delay: Duration, reason: String) async throws -> Bool {
        try await queueCall {
            let member: JSONValue = [
                "id": .string(delivery.id), "e": .string(EventCodec.encode(delivery.event)),
                "a": .string(String(delivery.attempt + 1)), "r": .string(reason),
            ]
            let due = clock.unixMilliseconds + UInt64(Swift.max(0, delay.microseconds / 1000))
            return try await client.evaluate(
                RedisStreamQueue.retryScript, keys: [.init(streamKey), .init(delayedKey), .init(leasesKey)],
                arguments: [.init(delivery.id), .init(group), .init(Int64(due)), .init(JSONWriter.string(member))]
            ).integer == 1
        }
    }

    @discardableResult
    func deadLetter(_ delivery: Delivery, reason: String) async throws -> Bool {
        try await queueCall {
            try await client.evaluate(
                RedisStreamQueue.deadLetterScript, keys: [.init(streamKey), .init(deadKey), .init(leasesKey)],
                arguments: [
                    .init(delivery.id), .init(group), .init(EventCodec.encode(delivery.event)), .init(delivery.attempt), .init(reason),
                    .init(clock.unixMilliseconds),
                ]
            ).integer == 1
        }
    }

    func reclaim(consumer: String, max: Int) async throws -> [Delivery] {
        try await queueCall {
            let reply = try await client.evaluate(
                RedisStreamQueue.reclaimScript, keys: [.init(streamKey), .init(leasesKey)],
                arguments: [.init(group), .init(consumer), .init(Swift.max(1, max)), .init(visibilityTimeout.microseconds / 1000)])
            // Pairs of how many times the lease was handed out and its entries.
            let parts = reply.array ?? []
            var claimed: [Delivery] = []
            for index in stride(from: 0, to: parts.count - 1, by: 2) {
                guard let count = parts[index].integer, let entries = parts[index + 1].array else {
                    throw RedisError.protocolViolation("reclaim: \(reply)")
                }
                claimed += try await deliveries(from: entries, count: count)
            }
            return claimed
        }
    }

    private func promoteDueRetries() async throws {
        try await client.evaluate(
            RedisStreamQueue.promoteScript, keys: [.init(delayedKey), .init(streamKey)], arguments: [.init(clock.unixMilliseconds), "1000"])
    }

    // MARK: Inspecting

    func depth() async throws -> QueueDepth {
        try await queueCall {
            let reply = try await client.evaluate(
                RedisStreamQueue.depthScript, keys: [.init(streamKey), .init(leasesKey), .init(delayedKey), .init(deadKey)], arguments: [.init(group)])
            let counts = (reply.array ?? []).map { $0.integer ?? 0 }
            guard counts.count == 4 else { throw RedisError.protocolViolation("depth: \(reply)") }
            return QueueDepth(ready: counts[0], pending: counts[1], delayed: counts[2], dead: counts[3])
        }
    }

    func ages() async throws -> QueueAges {
        try await queueCall {
            let reply = try await client.evaluate(RedisStreamQueue.agesScript, keys: [.init(streamKey), .init(leasesKey)], arguments: [.init(group)])
            let ages = (reply.array ?? []).map { $0.integer ?? -1 }
            guard ages.count == 2 else { throw RedisError.protocolViolation("ages: \(reply)") }
            func age(_ milliseconds: Int) -> Duration? { milliseconds < 0 ? nil : .milliseconds(milliseconds) }
            return QueueAges(oldestReady: age(ages[0]), oldestPending: age(ages[1]))
        }
    }

    func deadLetters(limit: Int) async throws -> [DeadLetter] {
        try await queueCall {
            let reply = try await client.command("XRANGE", .init(deadKey), "-", "+", "COUNT", .init(Swift.max(1, limit)))
            return (reply.array ?? []).compactMap { entry in
                guard let parts = entry.array, parts.count == 2, let id = parts[0].text, let fields = parts[1].array else { return nil }
                // A payload that is not an event (dead-lettered as undecodable) is listed as it is.
                let payload = Self.value(of: "e", in: fields) ?? []
                return DeadLetter(
                    id: id, event: EventCodec.decode(payload), payload: String(decoding: payload, as: UTF8.self),
                    attempts: Self.text(of: "a", in: fields).flatMap { Int($0) } ?? 1,
                    reason: Self.text(of: "r", in: fields) ?? "",
                    failedAt: (Self.text(of: "t", in: fields).flatMap { Int64($0) } ?? 0) * 1000)
            }
        }
    }

    func replayDeadLetters(ids: [String]?) async throws -> Int {
        try await moveDeadLetters(ids: ids, script: RedisStreamQueue.replayScript)
    }

    func purgeDeadLetters(ids: [String]?) async throws -> Int {
        try await moveDeadLetters(ids: ids, script: RedisStreamQueue.purgeScript)
    }

    /// Runs a dead-letter script on the given IDs, or on every dead letter, a thousand at a time.
    private func moveDeadLetters(ids: [String]?, script: RedisScript) async throws -> Int {
        try await queueCall {
            let keys: [RedisArgument] = [.init(deadKey), .init(streamKey)]
            if let ids {
                guard !ids.isEmpty else { return 0 }
                return try await client.evaluate(script, keys: keys, arguments: ids.map { RedisArgument($0) }).integer ?? 0
            }
            var total = 0
            while true {
                let reply = try await client.command("XRANGE", .init(deadKey), "-", "+", "COUNT", "1000")
                let chunk = (reply.array ?? []).compactMap { $0.array?.first?.text }
                if chunk.isEmpty { return total }
                total += try await client.evaluate(script, keys: keys, arguments: chunk.map { RedisArgument($0) }).integer ?? 0
            }
        }
    }

    func ping() async throws {
        try await queueCall { _ = try await client.command("PING") }
    }
}
