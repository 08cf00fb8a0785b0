import AnalyticsCore
import Glibc
import Synchronization

/// How a `GroupCommitter` turns the items of one flush into commands, and the replies back into each
/// caller's answer.
protocol GroupCommitCodec: Sendable {
    associatedtype Item: Sendable
    associatedtype Output: Sendable
    /// What an item counts towards a flush's `maximumCommands`.
    func weight(of item: Item) -> Int
    /// The commands of one flush.
    func request(for items: [Item]) -> RESPRequest
    /// Each item's answer, from the replies to `request(for: items)`, in order.
    func results(of outcomes: [WriteOutcome], for items: [Item]) -> [Result<Output, any Error>]
}

/// Pipelined writes: each item's commands go out as they are, one after another.
///
/// A write succeeds when none of its replies is an error and, if it has several commands (a
/// `MULTI` … `EXEC` transaction), its last reply is not nil (an aborted transaction). With `replicas`, the
/// flush ends with `WAIT`, and a write succeeds only once that many replicas have it too.
struct PipelinedWrites: GroupCommitCodec {
    var replicas: ReplicaWait?

    func weight(of item: RESPRequest) -> Int { item.commands }

    func request(for items: [RESPRequest]) -> RESPRequest {
        var combined = RESPRequest(capacity: items.reduce(0) { $0 + $1.bytes.count } + 40)
        for item in items { combined.append(item) }
        if let replicas { combined.append(replicas.command) }
        return combined
    }

    func results(of outcomes: [WriteOutcome], for items: [RESPRequest]) -> [Result<Void, any Error>] {
        var outcomes = outcomes[...]
        var unreplicated: RedisError?
        if let replicas, let last = outcomes.popLast() { unreplicated = replicas.failure(last) }
        var offset = outcomes.startIndex
        return items.map { item in
            let own = outcomes[offset..<min(outcomes.endIndex, offset + item.commands)]
            offset += item.commands
            if own.count < item.commands { return .failure(RedisError.protocolViolation("fewer replies than commands")) }
            return (Self.failure(own) ?? unreplicated).map { .failure($0) } ?? .success(())
        }
    }

    private static func failure(_ outcomes: ArraySlice<WriteOutcome>) -> RedisError? {
        for outcome in outcomes {
            if case .error(let message) = outcome { return .server(message) }
        }
        if outcomes.count > 1, outcomes.last == .null { return .server("transaction aborted") }
        return nil
    }
}

/// `WAIT replicas timeout` after a flush: Redis answers once that many replicas have acknowledged every
/// write the connection made before it, or when the timeout passes, with how many have. Replication is
/// otherwise asynchronous: a master that fails before its replica has a write loses it in the failover.
public struct ReplicaWait: Sendable, Equatable {
    public var replicas: Int
    public var timeout: Duration

    public init(replicas: Int, timeout: Duration = .seconds(1)) {
        self.replicas = replicas
        self.timeout = timeout
    }

    var command: RESPRequest {
        RESPRequest([["WAIT", .init(replicas), .init(Int(max(1, timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)))]])
    }

    /// The error for writes that fewer replicas than asked for acknowledged (the write itself is in the
    /// master: answering with an error makes the sender send it again, stored once when the sender gave
    /// its events an `event_id`, and maybe twice when the server did).
    func failure(_ outcome: WriteOutcome) -> RedisError? {
        switch outcome {
        case .integer(let acknowledged) where acknowledged >= replicas: nil
        case .integer(let acknowledged): .server("WAIT: \(acknowledged) of \(replicas) replicas acknowledged the write in time")
        case .error(let message): .server(message)
        default: .protocolViolation("WAIT: \(outcome)")
        }
    }
}

/// Batches concurrent writes into pipelined round trips (group commit). Each caller's item goes out in
/// the next flush, and its call returns only once Redis has answered it, so a caller that returns knows
/// its own entries are in Redis. Up to `maximumFlushes` flushes are on the wire at once (one per
/// connection of the client); callers arriving meanwhile queue for the next. What the items of a flush
/// become, and what each caller gets back, is the codec's: every item's own commands (`PipelinedWrites`),
/// or one script for the whole flush. The replies are read on the connection's thread.
final class GroupCommitter<Codec: GroupCommitCodec>: Sendable {
    private struct Request {
        let item: Codec.Item
        let continuation: UnsafeContinuation<Codec.Output, any Error>
    }

    private struct State {
        var pending: [Request] = []
        var flushing = 0
    }

    private let client: RedisClient
    let codec: Codec
    private let state = Mutex(State())
    /// Most commands sent in one round trip.
    private let maximumCommands: Int
    private let maximumFlushes: Int
    /// 20 µs sleeps a flush waits for more requests before it ends.
    private let lingerPolls = 5
    /// Pending requests that make a batch worth its round trip without waiting for more.
    private let fullBatch = 8
    /// Most times, and longest, a round trip yields its core while the batch is smaller.
    private let maximumYields = 8
    private let maximumYieldTime: Duration = .microseconds(200)

    init(client: RedisClient, codec: Codec, maximumFlushes: Int, maximumCommands: Int = 10_000) {
        self.client = client
        self.codec = codec
        self.maximumFlushes = maximumFlushes
        self.maximumCommands = maximumCommands
    }

    /// Sends `item` in the next flush and returns its answer once Redis has run it; throws what the codec
    /// makes of a failed reply (`RedisError.server`), or the connection's error.
    func submit(_ item: Codec.Item) async throws -> Codec.Output {
        try await withUnsafeThrowingContinuation { continuation in
            let startFlushing = state.withLock { state -> Bool in
                state.pending.append(Request(item: item, continuation: continuation))
                if state.flushing >= maximumFlushes { return false }
                state.flushing += 1
                return true
            }
            if startFlushing { Task { await self.flush() } }
        }
    }

    /// Flushes until nothing is pending. The loop runs on the connection's thread, so under load one
    /// flush follows the next without a task or a thread hop in between.
    private func flush() async {
        while true {
            let entered = OnceFlag()
            do {
                try await client.withConnection { connection in
                    entered.set()
                    while true {
                        self.yieldWhileBatchIsSmall()
                        guard let batch = self.takeBatch() ?? self.lingeringBatch() else { break }
                        do {
                            let items = batch.map(\.item)
                            let outcomes = try connection.pipelineOutcomes(self.codec.request(for: items))
                            let results = self.codec.results(of: outcomes, for: items)
                            guard results.count == batch.count else {
                                throw RedisError.server("\(results.count) answers to \(batch.count) writes")
                            }
                            for (request, result) in zip(batch, results) { request.continuation.resume(with: result) }
                        } catch {
                            for request in batch { request.continuation.resume(throwing: error) }
                            // Leave, so that the pool replaces a broken connection before the next batch.
                            throw error
                        }
                    }
                }
                return
            } catch {
                // Connecting failed: the next batch fails with that error instead of waiting for Redis.
                if !entered.isSet {
                    guard let batch = takeBatch(finishing: true) else { return }
                    for request in batch { request.continuation.resume(throwing: error) }
                }
            }
        }
    }

    /// Waits on the connection's thread, briefly, for requests to arrive before the flush ends: under
    /// load the next ones come within microseconds, and ending the flush would cost a task and a thread
    /// hand-off to start the next. Nil (and this flush ends) when none came.
    private func lingeringBatch() -> [Request]? {
        for _ in 0..<lingerPolls {
            usleep(20)
            if state.withLock({ !$0.pending.isEmpty }) { break }
        }
        return takeBatch(finishing: true)
    }

    /// Lets the other runnable threads go first while fewer than `fullBatch` requests are pending.
    /// Under load those are the HTTP server's, and the requests they finish join this round trip, so
    /// Redis and this thread pay a round trip's fixed cost (system calls, wake-ups, the append-only
    /// file's write) for more requests. With nothing else runnable, `sched_yield` returns at once, so
    /// a light load is not delayed.
    private func yieldWhileBatchIsSmall() {
        let deadline = ContinuousClock.now.advanced(by: maximumYieldTime)
        for _ in 0..<maximumYields {
            if state.withLock({ $0.pending.count >= fullBatch }) { return }
            if ContinuousClock.now > deadline { return }
            sched_yield()
        }
    }

    /// The next requests to send, up to `maximumCommands`. When none are pending: nil, and when
    /// `finishing`, this flush ends.
    private func takeBatch(finishing: Bool = false) -> [Request]? {
        state.withLock { state -> [Request]? in
            var taken = 0
            var count = 0
            for next in state.pending {
                let weight = codec.weight(of: next.item)
                if taken > 0, count + weight > maximumCommands { break }
                taken += 1
                count += weight
            }
            if taken == 0 {
                if finishing { state.flushing -= 1 }
                return nil
            }
            defer { state.pending.removeFirst(taken) }
            return Array(state.pending.prefix(taken))
        }
    }
}
