import AnalyticsCore
import AnalyticsSpec

/// One rate-limited enqueue waiting for its flush.
struct LimitedAdd: Sendable {
    let events: [Event]
    let draws: [BucketDraw]
    /// Tokens to lease beyond each draw's cost, when the bucket holds them (`BucketLeases`).
    let leases: [Int]
    /// Send the script's text (`EVAL`) rather than its digest: after Redis answered `NOSCRIPT`.
    let byText: Bool
}

/// The rate-limited enqueues of one flush as one script call (`limitedAddsScript`): the script's fixed
/// cost and each bucket's read and write are paid once a flush rather than once a request, which is what
/// keeps limits within a few percent of a plain `XADD` (docs/access.md). Requests are decided in their
/// order in the flush, exactly as one after another.
struct LimitedAdds: GroupCommitCodec {
    /// Queued, with the tokens granted beyond each draw's cost; or refused.
    enum Answer: Sendable {
        case queued(leased: [Int])
        case refused(index: Int, retryAfter: Duration)
    }

    let streamKey: [UInt8]
    /// `<prefix>:limit:`, before each bucket's key.
    let bucketPrefix: String
    /// Replicas that must have the flush before its events count as queued.
    var replicas: ReplicaWait?

    /// The script's refusal is the wait in microseconds times this, plus the index of the draw.
    static let maximumDraws = 4096

    func weight(of item: LimitedAdd) -> Int { item.events.count + item.draws.count }

    func request(for items: [LimitedAdd]) -> RESPRequest {
        // Each bucket once, numbered from 1 in the order first drawn.
        var numbers: [String: Int] = [:]
        var buckets: [BucketDraw] = []
        for item in items {
            for draw in item.draws where numbers[draw.key] == nil {
                buckets.append(draw)
                numbers[draw.key] = buckets.count
            }
        }
        let arguments = items.reduce(0) { $0 + 2 + 3 * $1.draws.count + $1.events.count }
        var request = RESPRequest(capacity: items.reduce(0) { $0 + $1.events.count * 200 } + buckets.count * 80 + 200)
        request.beginCommand(arguments: 3 + 1 + buckets.count + 1 + 2 * buckets.count + arguments)
        let byText = items.contains { $0.byText }
        request.appendArgument(Array((byText ? "EVAL" : "EVALSHA").utf8))
        request.appendArgument(Array((byText ? Self.script.source : Self.script.digest).utf8))
        request.appendArgument(Array(String(1 + buckets.count).utf8))
        request.appendArgument(streamKey)
        for bucket in buckets { request.appendArgument(Array((bucketPrefix + bucket.key).utf8)) }
        request.appendArgument(Array(String(buckets.count).utf8))
        for bucket in buckets {
            request.appendArgument(Array(String(bucket.limit.perSecond).utf8))
            request.appendArgument(Array(String(bucket.limit.burst).utf8))
        }
        for item in items {
            request.appendArgument(Array(String(item.draws.count).utf8))
            for (draw, lease) in zip(item.draws, item.leases) {
                request.appendArgument(Array(String(numbers[draw.key]!).utf8))
                request.appendArgument(Array(String(draw.cost).utf8))
                request.appendArgument(Array(String(lease).utf8))
            }
            request.appendArgument(Array(String(item.events.count).utf8))
            for event in item.events { request.appendArgument { EventCodec.write(event, to: &$0) } }
        }
        if let replicas { request.append(replicas.command) }
        return request
    }

    func results(of outcomes: [WriteOutcome], for items: [LimitedAdd]) -> [Result<Answer, any Error>] {
        let answers = scriptResults(of: outcomes, for: items)
        guard let replicas, let unreplicated = outcomes.count == 2 ? replicas.failure(outcomes[1]) : .protocolViolation("no reply to WAIT") else {
            return answers
        }
        // Queued events only a master holds fail, so that they are sent again; refusals stand.
        return answers.map { answer in
            if case .success(.queued) = answer { return .failure(unreplicated) }
            return answer
        }
    }

    private func scriptResults(of outcomes: [WriteOutcome], for items: [LimitedAdd]) -> [Result<Answer, any Error>] {
        switch outcomes.first {
        case .integers(let answers):
            var results: [Result<Answer, any Error>] = []
            var at = 0
            for item in items {
                guard at < answers.count else { break }
                let answer = answers[at]
                at += 1
                if answer == 0 {
                    guard at + item.draws.count <= answers.count else { break }
                    results.append(.success(.queued(leased: Array(answers[at..<at + item.draws.count]))))
                    at += item.draws.count
                    continue
                }
                let index = answer % Self.maximumDraws
                guard answer > 0, index < item.draws.count else {
                    results.append(.failure(RedisError.server("unexpected answer from the rate-limited adds: \(answer)")))
                    continue
                }
                results.append(.success(.refused(index: index, retryAfter: .microseconds(Int64(answer / Self.maximumDraws)))))
            }
            guard results.count == items.count, at == answers.count else {
                return items.map { _ in .failure(RedisError.server("unexpected answers from the rate-limited adds")) }
            }
            return results
        case .error(let message):
            return items.map { _ in .failure(RedisError.server(message)) }
        default:
            return items.map { _ in .failure(RedisError.server("unexpected answer from the rate-limited adds")) }
        }
    }

    /// Decides each request of the flush in turn by `TokenBucketRule`, on Redis's clock (one for every
    /// process): when all of a request's buckets allow its draws, takes them, leases each bucket's asked-for
    /// tokens beyond (from the half of the bucket above its middle only, so that near its limit every
    /// request is decided here, exactly), and adds its events. A bucket is the string
    /// `tokens:microseconds`, expiring once it would be full again (an absent bucket is full). Answers, for
    /// each request: 0 followed by the tokens leased from each of its draws' buckets, or the wait in
    /// microseconds times 4096 plus the index of the request's first draw that was refused.
    ///
    /// KEYS: the stream, then the buckets. ARGV: the number of buckets; each bucket's rate and burst; then
    /// each request: its number of draws, each draw's bucket (from 1), cost and lease asked for, its number
    /// of events, and the events.
    static let script = RedisScript("""
        local b = tonumber(ARGV[1])
        local time = redis.call('TIME')
        local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
        local rate, burst, tokens, touched = {}, {}, {}, {}
        local states = {}
        if b > 0 then states = redis.call('MGET', unpack(KEYS, 2, b + 1)) end
        for i = 1, b do
          rate[i], burst[i] = tonumber(ARGV[2 * i]), tonumber(ARGV[2 * i + 1])
          tokens[i] = burst[i]
          local state = states[i]
          if state then
            local colon = string.find(state, ':', 1, true)
            if colon then
              local held, at = tonumber(string.sub(state, 1, colon - 1)), tonumber(string.sub(state, colon + 1))
              if held and at then tokens[i] = math.min(burst[i], held + math.max(0, now - at) / 1000000 * rate[i]) end
            end
          end
        end
        local answers = {}
        local at = 2 * b + 2
        while at <= #ARGV do
          local d = tonumber(ARGV[at])
          local answer = 0
          for k = 1, d do
            local i, cost = tonumber(ARGV[at + 3 * k - 2]), tonumber(ARGV[at + 3 * k - 1])
            local needed = math.min(cost, burst[i])
            if answer == 0 and tokens[i] < needed then
              -- At most a day's wait, so that the answer stays an exact integer in Lua's doubles.
              answer = math.min(math.ceil((needed - tokens[i]) / rate[i] * 1000000), 86400000000) * 4096 + (k - 1)
            end
          end
          answers[#answers + 1] = answer
          if answer == 0 then
            for k = 1, d do
              local i, cost, lease = tonumber(ARGV[at + 3 * k - 2]), tonumber(ARGV[at + 3 * k - 1]), tonumber(ARGV[at + 3 * k])
              tokens[i] = tokens[i] - cost
              local granted = math.max(0, math.min(lease, math.floor(tokens[i] - burst[i] / 2)))
              tokens[i] = tokens[i] - granted
              touched[i] = true
              answers[#answers + 1] = granted
            end
          end
          at = at + 3 * d + 1
          local e = tonumber(ARGV[at])
          if answer == 0 then
            for j = at + 1, at + e do redis.call('XADD', KEYS[1], '*', 'e', ARGV[j]) end
          end
          at = at + e + 1
        end
        for i = 1, b do
          if touched[i] then
            -- Written as an integer (a double's %s could be 1e+17), at most two days away.
            local full = math.min(math.ceil((burst[i] - tokens[i]) / rate[i] * 1000) + 1000, 172800000)
            redis.call('SET', KEYS[i + 1], string.format('%.6f:%d', tokens[i], now), 'PX', string.format('%d', full))
          end
        end
        return answers
        """)
}
