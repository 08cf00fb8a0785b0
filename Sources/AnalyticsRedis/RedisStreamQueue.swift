import AnalyticsCore
import AnalyticsSpec
import JSONSchemaValidation
import Synchronization

/// How a `RedisStreamQueue` names and uses its keys.
public struct RedisQueueConfiguration: Sendable {
    /// Every key starts with this and a colon.
    public var keyPrefix = "analytics"
    /// The consumer group the workers share.
    public var group = "workers"
    public var visibilityTimeout: Duration = .seconds(30)
    /// Connections for reads, acknowledgements and administration (a blocking read holds one).
    public var connections = 4
    /// Connections for group-committed writes, and so how many flushes may be in flight at once.
    public var writeConnections = 1
    /// Most commands one group-committed round trip carries; a single write with more goes alone.
    public var commandsPerFlush = 10_000

    public init() {}
}

/// An `EventQueue` on Redis Streams with one consumer group.
///
/// - `enqueue`: `XADD` to `<prefix>:events`, group-committed: concurrent calls share one pipelined round
///   trip, and each returns once Redis has answered for its own entries. A batch is wrapped in
///   `MULTI`/`EXEC`, so it is added whole or not at all.
/// - An entry holds the event's payload in `e`; a retried one also holds its attempt in `a` and the last
///   error in `r`. An entry without `a` is a first attempt.
/// - `reserve`: `XREADGROUP`; `ack`: `XACK`, then the stream trimmed (`XTRIM MINID`) up to its oldest
///   unfinished entry. The group is the stream's only reader.
/// - `retry`: atomically (Lua) acknowledged and put in the sorted set `<prefix>:delayed`, scored by when it
///   is due; due entries are moved back to the stream by another script before each read.
/// - `deadLetter`: atomically moved to the stream `<prefix>:dead` with the reason and the attempt count.
///   Both scripts act only when their `XACK` finds the entry pending, so that a delivery another consumer
///   reclaimed and acknowledged is not moved as well, and running a script twice moves nothing twice.
/// - `reclaim`: `XAUTOCLAIM` of entries idle longer than the visibility timeout, then `XPENDING` of each
///   for its delivery count; `touch`: `XCLAIM … JUSTID`, which leaves the count as it is.
///
/// Durability is Redis's: run it with `appendonly yes` and `appendfsync everysec` (at most a second of
/// acknowledged writes can be lost if the machine itself fails), or `appendfsync always` for none.
public final class RedisStreamQueue: EventQueue {
    public let visibilityTimeout: Duration
    private let client: RedisClient
    private let writer: GroupCommitter
    private let streamKeyBytes: [UInt8]
    private let writerClient: RedisClient
    private let clock: any WallClock
    private let group: String
    private let streamKey: String
    private let delayedKey: String
    private let deadKey: String
    private let groupReady = Mutex(false)

    public init(url: String, configuration: RedisQueueConfiguration = RedisQueueConfiguration(), clock: any WallClock = SystemClock()) throws {
        let redis = try RedisConfiguration(url: url)
        visibilityTimeout = configuration.visibilityTimeout
        client = RedisClient(configuration: redis, connections: configuration.connections)
        writerClient = RedisClient(configuration: redis, connections: configuration.writeConnections)
        writer = GroupCommitter(
            client: writerClient, maximumFlushes: configuration.writeConnections, maximumCommands: configuration.commandsPerFlush)
        self.clock = clock
        group = configuration.group
        streamKey = configuration.keyPrefix + ":events"
        streamKeyBytes = Array(streamKey.utf8)
        delayedKey = configuration.keyPrefix + ":delayed"
        deadKey = configuration.keyPrefix + ":dead"
    }

    /// Closes the connections.
    public func shutdown() async {
        await client.shutdown()
        await writerClient.shutdown()
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
            } catch RedisError.connection {
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

    public func enqueue(_ events: [Event]) async throws {
        guard !events.isEmpty else { return }
        try await queueCall { try await writer.submit(addRequest(events)) }
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

    public func reserve(consumer: String, max: Int, wait: Duration) async throws -> [Delivery] {
        try await queueCall {
            try await promoteDueRetries()
            var command: [RedisArgument] = ["XREADGROUP", "GROUP", .init(group), .init(consumer), "COUNT", .init(Swift.max(1, max))]
            let blockMilliseconds = wait.microseconds / 1000
            if blockMilliseconds > 0 { command += ["BLOCK", .init(blockMilliseconds)] }
            command += ["STREAMS", .init(streamKey), ">"]
            let reply = try await client.command(command, timeout: wait + client.configuration.commandTimeout)
            guard case .array(let streams) = reply, let entries = streams.first?.array?.last?.array else { return [] }
            return try await deliveries(from: entries)
        }
    }

    /// Turns stream entries into deliveries; an entry that cannot be decoded is dead-lettered at once.
    /// `counts` holds the delivery count of entries handed out before (a reclaim); any other is a first delivery.
    private func deliveries(from entries: [RedisReply], counts: [String: Int] = [:]) async throws -> [Delivery] {
        var result: [Delivery] = []
        result.reserveCapacity(entries.count)
        for entry in entries {
            guard let parts = entry.array, parts.count == 2, let id = parts[0].text, let fields = parts[1].array else { continue }
            let payload = Self.value(of: "e", in: fields)
            guard let payload, let event = EventCodec.decode(payload) else {
                try await client.evaluate(
                    Self.deadLetterScript, keys: [.init(streamKey), .init(deadKey)],
                    arguments: [.init(id), .init(group), .init(bytes: payload ?? []), "1", "undecodable queue entry", .init(clock.unixMilliseconds)])
                continue
            }
            let attempt = Self.text(of: "a", in: fields).flatMap { Int($0) } ?? 1
            result.append(Delivery(
                id: id, event: event, attempt: attempt, lastError: Self.text(of: "r", in: fields), deliveries: counts[id] ?? 1))
        }
        return result
    }

    /// A flat list of names and values as a dictionary.
    private static func fields(of reply: RedisReply) -> [String: RedisReply]? {
        guard let list = reply.array else { return nil }
        var fields: [String: RedisReply] = [:]
        for index in stride(from: 0, to: list.count - 1, by: 2) {
            if let name = list[index].text { fields[name] = list[index + 1] }
        }
        return fields
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

    public func ack(_ ids: [DeliveryID]) async throws {
        guard !ids.isEmpty else { return }
        try await queueCall {
            let keys: [RedisArgument] = [.init(streamKey)]
            let arguments: [RedisArgument] = [.init(group)]
            let replies = try await client.pipeline([
                ["XACK", .init(streamKey), .init(group)] + ids.map { RedisArgument($0) },
                Self.trimScript.command(keys: keys, arguments: arguments),
            ])
            _ = try RedisClient.checked(replies[0])
            _ = try await client.scriptReply(replies[1], of: Self.trimScript, keys: keys, arguments: arguments)
        }
    }

    public func touch(_ ids: [DeliveryID], consumer: String) async throws {
        guard !ids.isEmpty else { return }
        try await queueCall {
            try await client.command(
                ["XCLAIM", .init(streamKey), .init(group), .init(consumer), "0"] + ids.map { RedisArgument($0) } + ["JUSTID"])
        }
    }

    @discardableResult
    public func retry(_ delivery: Delivery, after delay: Duration, reason: String) async throws -> Bool {
        try await queueCall {
            let member: JSONValue = [
                "id": .string(delivery.id), "e": .string(EventCodec.encode(delivery.event)),
                "a": .string(String(delivery.attempt + 1)), "r": .string(reason),
            ]
            let due = clock.unixMilliseconds + UInt64(Swift.max(0, delay.microseconds / 1000))
            return try await client.evaluate(
                Self.retryScript, keys: [.init(streamKey), .init(delayedKey)],
                arguments: [.init(delivery.id), .init(group), .init(Int64(due)), .init(JSONWriter.string(member))]
            ).integer == 1
        }
    }

    @discardableResult
    public func deadLetter(_ delivery: Delivery, reason: String) async throws -> Bool {
        try await queueCall {
            try await client.evaluate(
                Self.deadLetterScript, keys: [.init(streamKey), .init(deadKey)],
                arguments: [
                    .init(delivery.id), .init(group), .init(EventCodec.encode(delivery.event)), .init(delivery.attempt), .init(reason),
                    .init(clock.unixMilliseconds),
                ]
            ).integer == 1
        }
    }

    public func reclaim(consumer: String, max: Int) async throws -> [Delivery] {
        try await queueCall {
            var cursor = "0-0"
            var claimed: [Delivery] = []
            repeat {
                let reply = try await client.command(
                    "XAUTOCLAIM", .init(streamKey), .init(group), .init(consumer),
                    .init(visibilityTimeout.microseconds / 1000), .init(cursor), "COUNT", .init(Swift.max(1, max - claimed.count)))
                guard let parts = reply.array, parts.count >= 2, let next = parts[0].text, let entries = parts[1].array else {
                    throw RedisError.protocolViolation("XAUTOCLAIM: \(reply)")
                }
                let taken = entries.filter { $0 != .null }
                let counts = try await deliveryCounts(of: taken.compactMap { $0.array?.first?.text })
                // An entry no longer pending was acknowledged since it was claimed: nothing is left to do with it.
                claimed += try await deliveries(from: taken.filter { counts[$0.array?.first?.text ?? ""] != nil }, counts: counts)
                cursor = next
            } while cursor != "0-0" && claimed.count < max
            return claimed
        }
    }

    /// How many times each of the pending entries `ids` has been handed out, by `XPENDING` of each in one
    /// round trip (`XAUTOCLAIM` does not say; reclaims are rare). An entry no longer pending is left out.
    private func deliveryCounts(of ids: [String]) async throws -> [String: Int] {
        guard !ids.isEmpty else { return [:] }
        let commands = ids.map { id -> [RedisArgument] in ["XPENDING", .init(streamKey), .init(group), .init(id), .init(id), "1"] }
        let replies = try await client.pipeline(commands)
        var counts: [String: Int] = [:]
        for (id, reply) in zip(ids, replies) {
            // [[id, consumer, milliseconds idle, times delivered]], or [] once acknowledged.
            if let count = try RedisClient.checked(reply).array?.first?.array?.last?.integer { counts[id] = count }
        }
        return counts
    }

    private func promoteDueRetries() async throws {
        try await client.evaluate(
            Self.promoteScript, keys: [.init(delayedKey), .init(streamKey)], arguments: [.init(clock.unixMilliseconds), "1000"])
    }

    // MARK: Inspecting

    public func depth() async throws -> QueueDepth {
        try await queueCall {
            let replies = try await client.pipeline([
                ["XINFO", "GROUPS", .init(streamKey)], ["XLEN", .init(streamKey)],
                ["ZCARD", .init(delayedKey)], ["XLEN", .init(deadKey)],
            ])
            let counts = try replies[1...].map(RedisClient.checked)
            // A missing stream has no group: nothing is pending, and the next read recreates both.
            let info = (replies[0].array ?? []).lazy.compactMap { Self.fields(of: $0) }.first { $0["name"]?.text == group }
            let pending = info?["pending"]?.integer ?? 0
            // Entries acknowledged after an older one still pending stay in the stream until it is, so the
            // entries not yet delivered are the group's lag; Redis leaves the lag out only after deletions
            // it cannot place, and then every entry that is not pending counts.
            let ready = info?["lag"]?.integer ?? Swift.max(0, (counts[0].integer ?? 0) - pending)
            return QueueDepth(ready: ready, pending: pending, delayed: counts[1].integer ?? 0, dead: counts[2].integer ?? 0)
        }
    }

    public func deadLetters(limit: Int) async throws -> [DeadLetter] {
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

    public func replayDeadLetters(ids: [String]?) async throws -> Int {
        try await moveDeadLetters(ids: ids, script: Self.replayScript)
    }

    public func purgeDeadLetters(ids: [String]?) async throws -> Int {
        try await moveDeadLetters(ids: ids, script: Self.purgeScript)
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

    public func ping() async throws {
        try await queueCall { _ = try await client.command("PING") }
    }

    // MARK: Scripts

    /// KEYS: stream. ARGV: group. Trims the stream up to the group's oldest pending entry, or, with none
    /// pending, up to and including the last entry delivered: everything before is acknowledged. One
    /// `XTRIM` drops whole nodes of the stream, where an `XDEL` per entry looked each one up.
    static let trimScript = RedisScript("""
        local first = redis.call('XPENDING', KEYS[1], ARGV[1])[2]
        if not first then
            for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
                local name, last
                for i = 1, #group, 2 do
                    if group[i] == 'name' then name = group[i + 1] end
                    if group[i] == 'last-delivered-id' then last = group[i + 1] end
                end
                if name == ARGV[1] then
                    local ms, seq = string.match(last, '^(%d+)-(%d+)$')
                    if ms and #seq < 14 then first = ms .. '-' .. (tonumber(seq) + 1) else first = last end
                end
            end
        end
        if first then return redis.call('XTRIM', KEYS[1], 'MINID', first) end
        return 0
        """)

    /// KEYS: stream, delayed. ARGV: entry ID, group, due (ms), member. Returns 1, or 0 without doing anything
    /// when the entry is no longer pending (acknowledged, retried or dead-lettered already).
    static let retryScript = RedisScript("""
        if redis.call('XACK', KEYS[1], ARGV[2], ARGV[1]) == 0 then return 0 end
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
        redis.call('XDEL', KEYS[1], ARGV[1])
        return 1
        """)

    /// KEYS: stream, dead. ARGV: entry ID, group, payload, attempts, reason, now (ms). Returns 1, or 0 without
    /// doing anything when the entry is no longer pending.
    static let deadLetterScript = RedisScript("""
        if redis.call('XACK', KEYS[1], ARGV[2], ARGV[1]) == 0 then return 0 end
        redis.call('XADD', KEYS[2], '*', 'e', ARGV[3], 'a', ARGV[4], 'r', ARGV[5], 't', ARGV[6])
        redis.call('XDEL', KEYS[1], ARGV[1])
        return 1
        """)

    /// KEYS: delayed, stream. ARGV: now (ms), most to move.
    static let promoteScript = RedisScript("""
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
        for _, member in ipairs(due) do
            local entry = cjson.decode(member)
            redis.call('XADD', KEYS[2], '*', 'e', entry.e, 'a', entry.a, 'r', entry.r)
            redis.call('ZREM', KEYS[1], member)
        end
        return #due
        """)

    /// KEYS: dead, stream. ARGV: dead-letter IDs. Queues each again as a first attempt, its payload as it is
    /// (one that is not an event is dead-lettered again when it is read).
    static let replayScript = RedisScript("""
        local moved = 0
        for _, id in ipairs(ARGV) do
            local entries = redis.call('XRANGE', KEYS[1], id, id)
            if #entries == 1 then
                local fields = entries[1][2]
                for i = 1, #fields, 2 do
                    if fields[i] == 'e' then
                        redis.call('XADD', KEYS[2], '*', 'e', fields[i + 1])
                    end
                end
                redis.call('XDEL', KEYS[1], id)
                moved = moved + 1
            end
        end
        return moved
        """)

    /// KEYS: dead, stream. ARGV: dead-letter IDs.
    static let purgeScript = RedisScript("""
        if #ARGV == 0 then return 0 end
        return redis.call('XDEL', KEYS[1], unpack(ARGV))
        """)
}
