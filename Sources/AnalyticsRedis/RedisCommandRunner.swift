/// What runs commands against Redis: one server's connections (`RedisClient`), or the master of one
/// slot of a cluster (`RedisSlotRunner`), so that the queue's code is the same for both.
public protocol RedisCommandRunner: Sendable {
    /// Sends the commands in one round trip and returns a reply for each; error replies are returned, not thrown.
    func pipeline(_ commands: [[RedisArgument]], timeout: Duration?) async throws -> [RedisReply]
}

extension RedisCommandRunner {
    /// Sends one command; an error reply is thrown as `RedisError.server`.
    @discardableResult
    public func command(_ arguments: RedisArgument..., timeout: Duration? = nil) async throws -> RedisReply {
        try RedisClient.checked(try await pipeline([arguments], timeout: timeout)[0])
    }

    @discardableResult
    public func command(_ arguments: [RedisArgument], timeout: Duration? = nil) async throws -> RedisReply {
        try RedisClient.checked(try await pipeline([arguments], timeout: timeout)[0])
    }
}

/// The commands of one slot, sent to the master serving it (`RedisTopology`), following its redirections.
/// For one server, simply that server's client.
struct RedisSlotRunner<Node: Sendable>: RedisCommandRunner {
    let topology: RedisTopology<Node>
    let slot: Int
    let client: @Sendable (Node) -> RedisClient

    func pipeline(_ commands: [[RedisArgument]], timeout: Duration? = nil) async throws -> [RedisReply] {
        try await topology.run(slot: slot) { node, asking in
            let client = client(node)
            guard topology.isCluster else { return try await client.pipeline(commands, timeout: timeout) }
            guard asking else { return try Self.redirectionsThrown(try await client.pipeline(commands, timeout: timeout)) }
            let (request, kept) = Self.asking(commands)
            let replies = try await client.pipeline(request, timeout: timeout)
            // `ASKING` refused (an ACL without `+asking`): thrown as it is, not taken for the slot's answer.
            let keptSet = Set(kept)
            for (index, reply) in replies.enumerated() where !keptSet.contains(index) {
                if case .error(let message) = reply { throw RedisError.server(message) }
            }
            return try Self.redirectionsThrown(kept.map { replies[$0] })
        }
    }

    /// The replies, unless one is a cluster's redirection, thrown for `RedisTopology.run` to follow: the
    /// commands of one slot are redirected together, so none of them ran but those without a key.
    static func redirectionsThrown(_ replies: [RedisReply]) throws -> [RedisReply] {
        for reply in replies {
            if case .error(let message) = reply, RedisTopology<Node>.disposition(of: .server(message)) != .fail {
                throw RedisError.server(message)
            }
        }
        return replies
    }

    /// The commands with `ASKING` before each one outside a transaction and before its `MULTI` (the flag lasts
    /// through the transaction), and where each original command's reply is.
    static func asking(_ commands: [[RedisArgument]]) -> ([[RedisArgument]], [Int]) {
        var request: [[RedisArgument]] = []
        var kept: [Int] = []
        var inTransaction = false
        for command in commands {
            let name = String(decoding: command.first?.bytes ?? [], as: UTF8.self).uppercased()
            if !inTransaction { request.append(["ASKING"]) }
            if name == "MULTI" { inTransaction = true }
            if name == "EXEC" || name == "DISCARD" { inTransaction = false }
            kept.append(request.count)
            request.append(command)
        }
        return (request, kept)
    }
}
