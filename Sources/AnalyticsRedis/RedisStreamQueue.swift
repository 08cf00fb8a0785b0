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
/// Durability is Redis's: run it with `appendonly yes` and `appendfsync everysec` (at most a second of
/// acknowledged writes can be lost if the machine itself fails), or `appendfsync always` for none.
public final class RedisStreamQueue: EventQueue {
    public let visibilityTimeout: Duration
    private let client: RedisClient
    private let writer: GroupCommitter<PipelinedWrites>
    /// Rate-limited enqueues, one script call a flush, on connections of their own (a flush holds its
    /// connection while requests keep coming, and plain writes must not wait for that).
    private let limitedWriter: GroupCommitter<LimitedAdds>
    private let limitedClient: RedisClient
    private let leases = BucketLeases()
    private let streamKeyBytes: [UInt8]
    private let writerClient: RedisClient
    private let clock: any WallClock
    private let group: String
    private let streamKey: String
    private let delayedKey: String
    private let deadKey: String
    private let leasesKey: String
    private let groupReady = Mutex(false)

    public init(url: String, configuration: RedisQueueConfiguration = RedisQueueConfiguration(), clock: any WallClock = SystemClock()) throws {
        let redis = try RedisConfiguration(url: url)
        visibilityTimeout = configuration.visibilityTimeout
        client = RedisClient(configuration: redis, connections: configuration.connections)
        writerClient = RedisClient(configuration: redis, connections: configuration.writeConnections)
        writer = GroupCommitter(
            client: writerClient, codec: PipelinedWrites(), maximumFlushes: configuration.writeConnections,
            maximumCommands: configuration.commandsPerFlush)
        limitedClient = RedisClient(configuration: redis, connections: configuration.writeConnections)
        limitedWriter = GroupCommitter(
            client: limitedClient,
            codec: LimitedAdds(streamKey: Array((configuration.keyPrefix + ":events").utf8), bucketPrefix: configuration.keyPrefix + ":limit:"),
            // At most 10,000: a flush's buckets are one `MGET` through Lua's `unpack`, which takes about 8,000 values.
            maximumFlushes: configuration.writeConnections, maximumCommands: min(configuration.commandsPerFlush, 10_000))
        self.clock = clock
        group = configuration.group
        streamKey = configuration.keyPrefix + ":events"
        streamKeyBytes = Array(streamKey.utf8)
        delayedKey = configuration.keyPrefix + ":delayed"
        deadKey = configuration.keyPrefix + ":dead"
        leasesKey = configuration.keyPrefix + ":leases"
    }

    /// Closes the connections.
    public func shutdown() async {
        await client.shutdown()
        await writerClient.shutdown()
        await limitedClient.shutdown()
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
        let answer = try await queueCall {
            do {
                return try await limitedWriter.submit(LimitedAdd(events: events, draws: draws, leases: sizes, byText: false))
            } catch RedisError.server(let message) where message.hasPrefix(RedisClient.missingScript) {
                // Not run (a first use, or Redis's script cache emptied): sent again with the text, which caches it.
                return try await limitedWriter.submit(LimitedAdd(events: events, draws: draws, leases: sizes, byText: true))
            }
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

    private static let xadd = Array("XADD".utf8)
    private static let star = Array("*".utf8)
    private static let payloadField = Array("e".utf8)

    // MARK: Consuming

    public func reserve(consumer: String, max: Int, wait: Duration) async throws -> [Delivery] {
        try await queueCall {
            let deadline = ContinuousClock.now + wait
            var promote = true
            while true {
                // Due retries move to the stream first, and again after a wait that nothing ended; not after
                // a wake for new entries, whose events would wait for one more round trip.
                if promote { try await promoteDueRetries() }
                let (lease, entries, cursor) = try await take(consumer: consumer, max: Swift.max(1, max))
                if let lease {
                    // Exactly how many entries the lease holds, which only the reply tells; then the
                    // undecodable ones leave it for the dead letters.
                    try await client.evaluate(Self.countScript, keys: [.init(leasesKey)], arguments: [.init(lease), .init(entries.count)])
                    return try await deliveries(from: entries)
                }
                if !entries.isEmpty { return try await deliveries(from: entries) }
                let left = deadline - ContinuousClock.now
                guard left > .zero, let cursor else { return [] }
                // Until an entry after the cursor arrives; another consumer may take it first, and then this
                // one waits again for what is left of `wait`.
                let milliseconds = Swift.max(1, left.microseconds / 1000)
                let woken = try await client.command(
                    ["XREAD", "COUNT", "1", "BLOCK", .init(milliseconds), "STREAMS", .init(streamKey), .init(cursor)],
                    timeout: left + client.configuration.commandTimeout)
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
            Self.cursorScript.command(keys: keys, arguments: [.init(group)], byText: true),
            ["XREADGROUP", "GROUP", .init(group), .init(consumer), "COUNT", .init(max), "NOACK", "STREAMS", .init(streamKey), ">"],
            Self.leaseScript.command(
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
                Self.recoverScript, keys: keys,
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
                    Self.deadLetterScript, keys: [.init(streamKey), .init(deadKey), .init(leasesKey)],
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

    public func ack(_ ids: [DeliveryID]) async throws {
        guard !ids.isEmpty else { return }
        let ordered = Self.ordered(ids)
        guard let first = ordered.first, let last = ordered.last else { return }
        try await queueCall {
            let keys: [RedisArgument] = [.init(streamKey), .init(leasesKey)]
            // The usual case costs Redis three arguments, not one per event: a whole lease, told by its size
            // and its first and last IDs.
            let whole = try await client.evaluate(
                Self.ackWholeScript, keys: keys, arguments: [.init(group), .init(ordered.count), .init(first), .init(last)])
            guard whole.integer != 1 else { return }
            try await client.evaluate(Self.ackScript, keys: keys, arguments: [.init(group)] + ordered.map { RedisArgument($0) })
        }
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
        guard !ids.isEmpty else { return }
        try await queueCall {
            try await client.evaluate(
                Self.touchScript, keys: [.init(streamKey), .init(leasesKey)],
                arguments: [.init(consumer), .init(visibilityTimeout.microseconds / 1000)] + Self.ordered(ids).map { RedisArgument($0) })
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
                Self.retryScript, keys: [.init(streamKey), .init(delayedKey), .init(leasesKey)],
                arguments: [.init(delivery.id), .init(group), .init(Int64(due)), .init(JSONWriter.string(member))]
            ).integer == 1
        }
    }

    @discardableResult
    public func deadLetter(_ delivery: Delivery, reason: String) async throws -> Bool {
        try await queueCall {
            try await client.evaluate(
                Self.deadLetterScript, keys: [.init(streamKey), .init(deadKey), .init(leasesKey)],
                arguments: [
                    .init(delivery.id), .init(group), .init(EventCodec.encode(delivery.event)), .init(delivery.attempt), .init(reason),
                    .init(clock.unixMilliseconds),
                ]
            ).integer == 1
        }
    }

    public func reclaim(consumer: String, max: Int) async throws -> [Delivery] {
        try await queueCall {
            let reply = try await client.evaluate(
                Self.reclaimScript, keys: [.init(streamKey), .init(leasesKey)],
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
            Self.promoteScript, keys: [.init(delayedKey), .init(streamKey)], arguments: [.init(clock.unixMilliseconds), "1000"])
    }

    // MARK: Inspecting

    public func depth() async throws -> QueueDepth {
        try await queueCall {
            let reply = try await client.evaluate(
                Self.depthScript, keys: [.init(streamKey), .init(leasesKey), .init(delayedKey), .init(deadKey)], arguments: [.init(group)])
            let counts = (reply.array ?? []).map { $0.integer ?? 0 }
            guard counts.count == 4 else { throw RedisError.protocolViolation("depth: \(reply)") }
            return QueueDepth(ready: counts[0], pending: counts[1], delayed: counts[2], dead: counts[3])
        }
    }

    public func ages() async throws -> QueueAges {
        try await queueCall {
            let reply = try await client.evaluate(Self.agesScript, keys: [.init(streamKey), .init(leasesKey)], arguments: [.init(group)])
            let ages = (reply.array ?? []).map { $0.integer ?? -1 }
            guard ages.count == 2 else { throw RedisError.protocolViolation("ages: \(reply)") }
            func age(_ milliseconds: Int) -> Duration? { milliseconds < 0 ? nil : .milliseconds(milliseconds) }
            return QueueAges(oldestReady: age(ages[0]), oldestPending: age(ages[1]))
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

    /// What the lease scripts share. A lease is a field of the leases hash: its key is the ID its range
    /// starts after, its value `first last count times deadline partial holder`, where `count` is how many of
    /// its entries are pending (`?` until the reader has said), `times` how often it was handed out,
    /// `deadline` Redis's clock in milliseconds, and `partial` 1 once an entry left it on its own. The
    /// field `@` holds the cursor while a read is in its transaction. The two scripts inside a read's
    /// transaction, sent with their text each time, carry only the part they use.
    static let readFunctions = """
        local function store(leases, x)
            redis.call('HSET', leases, x.key, x.f .. ' ' .. x.l .. ' ' .. (x.n or '?') .. ' ' .. x.d .. ' ' .. x.t .. ' ' .. x.p .. ' ' .. x.c)
        end
        local function now()
            local t = redis.call('TIME')
            return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
        end
        local function delivered(stream, group)
            local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', stream)
            if not ok then return nil end
            for _, g in ipairs(groups) do
                local name, last
                for i = 1, #g, 2 do
                    if g[i] == 'name' then name = g[i + 1] end
                    if g[i] == 'last-delivered-id' then last = g[i + 1] end
                end
                if name == group then return last end
            end
            return nil
        end

        """

    /// The rest of what the lease scripts share.
    static let leaseFunctions = readFunctions + """
        local function sid(id)
            local ms, seq = string.match(id, '^(%d+)-(%d+)$')
            if not ms then return nil end
            return {tonumber(ms), tonumber(seq)}
        end
        local function less(a, b) return a[1] < b[1] or (a[1] == b[1] and a[2] < b[2]) end
        local function decode(key, value)
            local f, l, n, d, t, p, c = string.match(value, '^(%S+) (%S+) (%S+) (%d+) (%d+) (%d) (.*)$')
            if not f then return {} end
            return {key = key, f = f, l = l, n = tonumber(n), d = tonumber(d), t = tonumber(t), p = tonumber(p), c = c, fs = sid(f), ls = sid(l)}
        end
        local function all(leases)
            local list = {}
            local flat = redis.call('HGETALL', leases)
            for i = 1, #flat, 2 do
                if flat[i] ~= '@' then
                    local x = decode(flat[i], flat[i + 1])
                    if x.fs and x.ls and x.d and x.t and x.p then table.insert(list, x) end
                end
            end
            table.sort(list, function(a, b) return less(a.fs, b.fs) end)
            return list
        end
        local function holder(list, s)
            for _, x in ipairs(list) do
                if less(x.fs, s) and not less(x.ls, s) then return x end
            end
            return nil
        end
        local function walk(list, ids, from, visit)
            local j = 1
            for i = from, #ids do
                local s = sid(ids[i])
                if s then
                    while list[j] and less(list[j].ls, s) do j = j + 1 end
                    if list[j] and less(list[j].fs, s) then visit(list[j], ids[i]) end
                end
            end
        end
        local function before(id)
            local ms, seq = string.match(id, '^(%d+)-(%d+)$')
            if seq ~= '0' then
                local digits = string.format('%d', tonumber(seq) - 1)
                if #seq < 15 then return ms .. '-' .. digits end
            end
            return string.format('%d', tonumber(ms) - 1) .. '-18446744073709551615'
        end
        local function trim(stream, leases, group, list)
            list = list or all(leases)
            local first = list[1] and list[1].f or delivered(stream, group)
            if not first then return 0 end
            local ok, summary = pcall(redis.call, 'XPENDING', stream, group)
            if ok and summary[1] > 0 then
                local oldest = before(summary[2])
                if not list[1] or less(sid(oldest), list[1].fs) then first = oldest end
            end
            local ms, seq = string.match(first, '^(%d+)-(%d+)$')
            if ms and #seq < 14 then return redis.call('XTRIM', stream, 'MINID', ms .. '-' .. (tonumber(seq) + 1)) end
            return 0
        end
        local function adopt(stream, group)
            local ok, summary = pcall(redis.call, 'XPENDING', stream, group)
            if not ok or summary[1] == 0 then return end
            repeat
                local pending = redis.call('XPENDING', stream, group, '-', '+', 1000)
                for _, p in ipairs(pending) do
                    local entry = redis.call('XRANGE', stream, p[1], p[1])[1]
                    if entry then redis.call('XADD', stream, '*', unpack(entry[2])) end
                    redis.call('XACK', stream, group, p[1])
                    redis.call('XDEL', stream, p[1])
                end
            until #pending == 0
        end
        local function settle(stream, leases, x)
            local empty
            if x.n then empty = x.n <= 0 else empty = #redis.call('XRANGE', stream, '(' .. x.f, x.l, 'COUNT', 1) == 0 end
            if empty then
                redis.call('HDEL', leases, x.key)
                return true
            end
            store(leases, x)
            return false
        end
        local function release(stream, leases, group, id)
            local s = sid(id)
            if not s then return false end
            local x = holder(all(leases), s)
            if not x or redis.call('XDEL', stream, id) == 0 then return false end
            if x.n then x.n = x.n - 1 end
            x.p = 1
            if settle(stream, leases, x) then trim(stream, leases, group) end
            return true
        end

        """

    /// KEYS: stream, leases. ARGV: group. Notes the cursor before the read.
    static let cursorScript = RedisScript(readFunctions + """
        local last = delivered(KEYS[1], ARGV[1])
        if last then redis.call('HSET', KEYS[2], '@', last) else redis.call('HDEL', KEYS[2], '@') end
        return last
        """)

    /// KEYS: stream, leases. ARGV: group, consumer, visibility timeout (ms). After the read: the range it
    /// moved the cursor over becomes a lease. Returns the lease's key ('' for none) and the cursor.
    static let leaseScript = RedisScript(readFunctions + """
        local last = delivered(KEYS[1], ARGV[1])
        local before = redis.call('HGET', KEYS[2], '@')
        redis.call('HDEL', KEYS[2], '@')
        if not last or not before or last == before or not string.match(before, '^%d+%-%d+$') then return {'', last or ''} end
        store(KEYS[2], {key = before, f = before, l = last, n = nil, d = 1, t = now() + tonumber(ARGV[3]), p = 0, c = ARGV[2]})
        return {before, last}
        """)

    /// KEYS: stream, leases. ARGV: first and last entry ID of a read, consumer, visibility timeout (ms). For
    /// a read whose lease was not recorded (a script inside the read's transaction failed while the read
    /// itself moved the cursor): its range becomes a lease unless one holds it already. Returns the key.
    static let recoverScript = RedisScript(leaseFunctions + """
        local x = holder(all(KEYS[2]), sid(ARGV[2]))
        if x then return x.key end
        local after = before(ARGV[1])
        store(KEYS[2], {key = after, f = after, l = ARGV[2], n = nil, d = 1, t = now() + tonumber(ARGV[4]), p = 1, c = ARGV[3]})
        return after
        """)

    /// KEYS: leases. ARGV: lease, how many entries the read returned. Set once, by the reader.
    static let countScript = RedisScript(leaseFunctions + """
        local value = redis.call('HGET', KEYS[1], ARGV[1])
        if not value then return 0 end
        local x = decode(ARGV[1], value)
        if x.n or x.d ~= 1 then return 0 end
        x.n = tonumber(ARGV[2])
        if x.n <= 0 then redis.call('HDEL', KEYS[1], x.key) else store(KEYS[1], x) end
        return 1
        """)

    /// KEYS: stream, leases. ARGV: group, how many IDs, the first and the last of them (distinct IDs, in the
    /// stream's order). A lease handed out once, none of whose entries left it on its own, whose pending
    /// count is the number of IDs, all in its range, is acknowledged whole: those are all its entries, so it
    /// is dropped without touching them, and the stream is trimmed to the oldest lease. Returns 1 then, and
    /// 0 when the IDs must go one by one (`ackScript`).
    static let ackWholeScript = RedisScript(leaseFunctions + """
        local count, first, last = tonumber(ARGV[2]), sid(ARGV[3]), sid(ARGV[4])
        if not (count and first and last) then return 0 end
        local list = all(KEYS[2])
        local x = holder(list, first)
        if not (x and x.d == 1 and x.p == 0 and x.n == count and not less(x.ls, last)) then return 0 end
        redis.call('HDEL', KEYS[2], x.key)
        local rest = {}
        for _, other in ipairs(list) do if other.key ~= x.key then table.insert(rest, other) end end
        trim(KEYS[1], KEYS[2], ARGV[1], rest)
        return 1
        """)

    /// KEYS: stream, leases. ARGV: group, then entry IDs in the stream's order without repeats (one walk
    /// over them and the leases in order). Each one still pending is deleted from the stream
    /// (`XDEL`), and a lease left empty is dropped; then the stream is trimmed to the oldest lease. Returns
    /// how many were pending.
    static let ackScript = RedisScript(leaseFunctions + """
        local list = all(KEYS[2])
        local changed, removed, dropped = {}, 0, false
        walk(list, ARGV, 2, function(x, id)
            if redis.call('XDEL', KEYS[1], id) == 1 then
                if x.n then x.n = x.n - 1 end
                x.p = 1
                changed[x.key] = x
                removed = removed + 1
            end
        end)
        for _, x in pairs(changed) do
            if settle(KEYS[1], KEYS[2], x) then dropped = true end
        end
        if dropped then trim(KEYS[1], KEYS[2], ARGV[1]) end
        return removed
        """)

    /// KEYS: stream, leases. ARGV: consumer, visibility timeout (ms), entry IDs in the stream's order. Each lease holding one of
    /// them is the consumer's until the timeout from now.
    static let touchScript = RedisScript(leaseFunctions + """
        local list = all(KEYS[2])
        local deadline = now() + tonumber(ARGV[2])
        local changed = {}
        walk(list, ARGV, 3, function(x)
            x.t = deadline
            x.c = ARGV[1]
            changed[x.key] = x
        end)
        for _, x in pairs(changed) do store(KEYS[2], x) end
        return 1
        """)

    /// KEYS: stream, leases. ARGV: group, consumer, most entries, visibility timeout (ms). First, the entries
    /// an earlier version left pending in the group (whose workers are stopped before new ones start) go to
    /// the end of the stream again as they are, to be read as new (until then, `trim` keeps them). Then leases whose time ran out, oldest first, go to the consumer, up to the
    /// most entries (a lease with more is split), each handed out once more. Returns pairs of how many
    /// times the entries were handed out and the entries.
    static let reclaimScript = RedisScript(leaseFunctions + """
        local at = now()
        adopt(KEYS[1], ARGV[1])
        local room, out, dropped = tonumber(ARGV[3]), {}, false
        for _, x in ipairs(all(KEYS[2])) do
            if room <= 0 then break end
            if x.t <= at then
                local entries = redis.call('XRANGE', KEYS[1], '(' .. x.f, x.l, 'COUNT', room + 1)
                if #entries == 0 then
                    redis.call('HDEL', KEYS[2], x.key)
                    dropped = true
                else
                    local taken = entries
                    if #entries > room then
                        taken = {}
                        for i = 1, room do taken[i] = entries[i] end
                        local split = taken[room][1]
                        store(KEYS[2], {key = split, f = split, l = x.l, n = x.n and (x.n - room), d = x.d, t = x.t, p = 1, c = x.c})
                        x.l = split
                    end
                    x.n, x.d, x.t, x.p, x.c = #taken, x.d + 1, at + tonumber(ARGV[4]), 0, ARGV[2]
                    store(KEYS[2], x)
                    table.insert(out, x.d)
                    table.insert(out, taken)
                    room = room - #taken
                end
            end
        end
        if dropped then trim(KEYS[1], KEYS[2], ARGV[1]) end
        return out
        """)

    /// KEYS: stream, leases, delayed, dead. ARGV: group. Ready (the group's lag, or, when Redis cannot say,
    /// every entry not pending), pending, delayed and dead.
    static let depthScript = RedisScript(leaseFunctions + """
        local pending = 0
        for _, x in ipairs(all(KEYS[2])) do
            pending = pending + (x.n or #redis.call('XRANGE', KEYS[1], '(' .. x.f, x.l))
        end
        local ready
        local ok, groups = pcall(redis.call, 'XINFO', 'GROUPS', KEYS[1])
        if ok then
            for _, g in ipairs(groups) do
                local name, lag
                for i = 1, #g, 2 do
                    if g[i] == 'name' then name = g[i + 1] end
                    if g[i] == 'lag' then lag = g[i + 1] end
                end
                if name == ARGV[1] and type(lag) == 'number' then ready = lag end
            end
        end
        if not ready then ready = math.max(0, redis.call('XLEN', KEYS[1]) - pending) end
        return {ready, pending, redis.call('ZCARD', KEYS[3]), redis.call('XLEN', KEYS[4])}
        """)

    /// KEYS: stream, leases. ARGV: group. Returns the ages in milliseconds (Redis's clock against the entry
    /// IDs, which Redis stamped with the same clock) of the first entry past the group's cursor and of the
    /// oldest pending entry, each -1 when there is none: the first entry still in each lease (acknowledged
    /// ones are deleted), and the group's own pending list, which only an earlier version wrote to.
    static let agesScript = RedisScript(leaseFunctions + """
        local t = now()
        local function age(id)
            local ms = string.match(id, '^(%d+)-')
            if not ms then return -1 end
            return math.max(0, t - tonumber(ms))
        end
        local pending = -1
        for _, x in ipairs(all(KEYS[2])) do
            local first = redis.call('XRANGE', KEYS[1], '(' .. x.f, x.l, 'COUNT', 1)[1]
            if first then pending = math.max(pending, age(first[1])) end
        end
        local ok, summary = pcall(redis.call, 'XPENDING', KEYS[1], ARGV[1])
        if ok and summary[1] > 0 then pending = math.max(pending, age(summary[2])) end
        local last = delivered(KEYS[1], ARGV[1])
        local first = redis.call('XRANGE', KEYS[1], last and ('(' .. last) or '-', '+', 'COUNT', 1)[1]
        return {first and age(first[1]) or -1, pending}
        """)

    /// KEYS: stream, delayed, leases. ARGV: entry ID, group, due (ms), member. Returns 1, or 0 without doing
    /// anything when the entry is no longer pending (acknowledged, retried or dead-lettered already).
    static let retryScript = RedisScript(leaseFunctions + """
        if not release(KEYS[1], KEYS[3], ARGV[2], ARGV[1]) then return 0 end
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
        return 1
        """)

    /// KEYS: stream, dead, leases. ARGV: entry ID, group, payload, attempts, reason, now (ms). Returns 1, or 0
    /// without doing anything when the entry is no longer pending.
    static let deadLetterScript = RedisScript(leaseFunctions + """
        if not release(KEYS[1], KEYS[3], ARGV[2], ARGV[1]) then return 0 end
        redis.call('XADD', KEYS[2], '*', 'e', ARGV[3], 'a', ARGV[4], 'r', ARGV[5], 't', ARGV[6])
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
