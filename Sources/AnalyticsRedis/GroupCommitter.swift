import Synchronization

/// Batches concurrent writes into pipelined round trips (group commit). Each caller's commands go out
/// in the next flush, and its call returns only once Redis has answered them, so a caller that returns
/// knows its own entries are in Redis. Up to `maximumFlushes` flushes are on the wire at once (one per
/// connection of the client); callers arriving meanwhile queue for the next.
final class GroupCommitter: Sendable {
    private struct Request {
        let commands: [[RedisArgument]]
        let continuation: CheckedContinuation<[RedisReply], any Error>
    }

    private struct State {
        var pending: [Request] = []
        var flushing = 0
    }

    private let client: RedisClient
    private let state = Mutex(State())
    /// Most commands sent in one round trip.
    private let maximumCommands: Int
    private let maximumFlushes: Int

    init(client: RedisClient, maximumFlushes: Int, maximumCommands: Int = 10_000) {
        self.client = client
        self.maximumFlushes = maximumFlushes
        self.maximumCommands = maximumCommands
    }

    /// Sends `commands` in the next flush and returns their replies.
    func submit(_ commands: [[RedisArgument]]) async throws -> [RedisReply] {
        try await withCheckedThrowingContinuation { continuation in
            let startFlushing = state.withLock { state -> Bool in
                state.pending.append(Request(commands: commands, continuation: continuation))
                if state.flushing >= maximumFlushes { return false }
                state.flushing += 1
                return true
            }
            if startFlushing { Task { await self.flush() } }
        }
    }

    private func flush() async {
        while true {
            let batch = state.withLock { state -> [Request] in
                var taken: [Request] = []
                var count = 0
                while let next = state.pending.first, taken.isEmpty || count + next.commands.count <= maximumCommands {
                    taken.append(state.pending.removeFirst())
                    count += next.commands.count
                }
                if taken.isEmpty { state.flushing -= 1 }
                return taken
            }
            if batch.isEmpty { return }
            do {
                let replies = try await client.pipeline(batch.flatMap(\.commands))
                var offset = 0
                for request in batch {
                    request.continuation.resume(returning: Array(replies[offset..<offset + request.commands.count]))
                    offset += request.commands.count
                }
            } catch {
                for request in batch { request.continuation.resume(throwing: error) }
            }
        }
    }
}
