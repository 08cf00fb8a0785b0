/// The Lua scripts of a queue partition (`RedisStreamPartition`): each touches the keys of one partition
/// only, which share a hash tag, so that in a cluster each runs on the one master holding them.
extension RedisStreamQueue {
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
