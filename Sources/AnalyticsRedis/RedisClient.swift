import AnalyticsBlockingIO

/// Redis through a small pool of hiredis connections, each used on a dedicated thread.
public final class RedisClient: RedisCommandRunner {
    private let pool: BlockingConnectionPool<RedisConnection>
    public let configuration: RedisConfiguration

    public init(configuration: RedisConfiguration, connections: Int) {
        self.configuration = configuration
        pool = BlockingConnectionPool(size: connections) { try RedisConnection(configuration) }
    }

    /// Sends the commands in one round trip and returns a reply for each; error replies are returned, not thrown.
    public func pipeline(_ commands: [[RedisArgument]], timeout: Duration? = nil) async throws -> [RedisReply] {
        let request = RESPRequest(commands)
        return try await pool.withConnection { try $0.pipeline(request, timeout: timeout) }
    }

    /// Sends the request's commands in one round trip and returns only whether each succeeded.
    func pipelineOutcomes(_ request: RESPRequest) async throws -> [WriteOutcome] {
        try await pool.withConnection { try $0.pipelineOutcomes(request) }
    }

    /// Runs `body` on a pooled connection, on the connection's own thread.
    func withConnection<T: Sendable>(_ body: @escaping @Sendable (RedisConnection) throws -> T) async throws -> T {
        try await pool.withConnection(body)
    }

    static func checked(_ reply: RedisReply) throws -> RedisReply {
        if case .error(let message) = reply { throw RedisError.server(message) }
        return reply
    }

    public func shutdown() async { await pool.shutdown() }
}

/// A command argument: text, a number, or raw bytes.
public struct RedisArgument: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    public let bytes: [UInt8]

    public init(_ text: String) { bytes = Array(text.utf8) }
    public init(_ number: Int) { bytes = Array(String(number).utf8) }
    public init(_ number: Int64) { bytes = Array(String(number).utf8) }
    public init(_ number: UInt64) { bytes = Array(String(number).utf8) }
    public init(bytes: [UInt8]) { self.bytes = bytes }
    public init(stringLiteral value: String) { self.init(value) }
    public init(integerLiteral value: Int) { self.init(value) }
}
