/// The connections a queue keeps to one Redis server (a cluster's master): for reads, acknowledgements
/// and administration; for group-committed writes; and for the rate-limit script's flushes, each pool with
/// its own threads, so that a blocking read or a long flush holds up nothing else.
struct RedisQueueNode: Sendable {
    let client: RedisClient
    let writerClient: RedisClient
    let writer: GroupCommitter<PipelinedWrites>
    let limitedClient: RedisClient
    let limitedWriter: GroupCommitter<LimitedAdds>

    init(_ redis: RedisConfiguration, configuration: RedisQueueConfiguration, writes: PipelinedWrites, limitedAdds: LimitedAdds) {
        client = RedisClient(configuration: redis, connections: configuration.connections)
        writerClient = RedisClient(configuration: redis, connections: configuration.writeConnections)
        writer = GroupCommitter(
            client: writerClient, codec: writes, maximumFlushes: configuration.writeConnections,
            maximumCommands: configuration.commandsPerFlush)
        limitedClient = RedisClient(configuration: redis, connections: configuration.writeConnections)
        limitedWriter = GroupCommitter(
            client: limitedClient, codec: limitedAdds,
            // At most 10,000: a flush's buckets are one `MGET` through Lua's `unpack`, which takes about 8,000 values.
            maximumFlushes: configuration.writeConnections, maximumCommands: min(configuration.commandsPerFlush, 10_000))
    }

    /// Writes `request` after `ASKING` (its slot is migrating to this node), in the next flush: `ASKING` is
    /// the command just before the request's own (before its `MULTI`), as the flag requires.
    func writeAsking(_ request: RESPRequest) async throws {
        var asking = RESPRequest([["ASKING"]])
        asking.append(request)
        try await writer.submit(asking)
    }

    /// Runs one rate-limited add after `ASKING`, on its own: the flushes' script call holds every request of
    /// a flush, so this one goes on a connection of the general pool (the rate-limit pool's one connection
    /// may be held by a flush for as long as requests keep coming).
    func limitedAddAsking(_ item: LimitedAdd) async throws -> LimitedAdds.Answer {
        var request = RESPRequest([["ASKING"]])
        request.append(limitedWriter.codec.request(for: [item]))
        let outcomes = try await client.pipelineOutcomes(request)
        if case .error(let message) = outcomes.first { throw RedisError.server(message) }
        return try limitedWriter.codec.results(of: Array(outcomes.dropFirst()), for: [item])[0].get()
    }

    func shutdown() async {
        await client.shutdown()
        await writerClient.shutdown()
        await limitedClient.shutdown()
    }
}
