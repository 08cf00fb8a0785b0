import Crypto

/// A Lua script run by its SHA-1 digest (`EVALSHA`) from Redis's script cache, as ioredis and BullMQ run
/// theirs. Only when Redis answers `NOSCRIPT` (a first use, or a cache emptied by a restart or
/// `SCRIPT FLUSH`) does the call go again as `EVAL` with the text, which caches the script.
public struct RedisScript: Sendable {
    public let source: String
    /// The name Redis's script cache gives the script: the SHA-1 of its text, in hexadecimal.
    public let digest: String

    public init(_ source: String) {
        self.source = source
        digest = Insecure.SHA1.hash(data: Array(source.utf8)).map { hexDigits[Int($0 >> 4)] + hexDigits[Int($0 & 15)] }.joined()
    }

    /// `EVALSHA` with `keys` and `arguments`, or `EVAL` with the text when `byText`.
    func command(keys: [RedisArgument], arguments: [RedisArgument], byText: Bool = false) -> [RedisArgument] {
        (byText ? ["EVAL", .init(source)] : ["EVALSHA", .init(digest)]) + [.init(keys.count)] + keys + arguments
    }
}

extension RedisClient {
    /// How Redis's answer to `EVALSHA` begins when the script is not in its cache. A script's own error
    /// may begin with `NOSCRIPT` too; that one is thrown, not taken for a missing script.
    static let missingScript = "NOSCRIPT No matching script"
}

extension RedisCommandRunner {
    /// Runs `script`; an error reply is thrown as `RedisError.server`.
    @discardableResult
    public func evaluate(_ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument]) async throws -> RedisReply {
        let reply = try await pipeline([script.command(keys: keys, arguments: arguments)], timeout: nil)[0]
        return try await scriptReply(reply, of: script, keys: keys, arguments: arguments)
    }

    /// `reply`, an answer to `script.command(keys:arguments:)`, checked; after `NOSCRIPT`, the script's
    /// answer to `EVAL`, which also caches it.
    func scriptReply(_ reply: RedisReply, of script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument]) async throws -> RedisReply {
        guard case .error(let message) = reply, message.hasPrefix(RedisClient.missingScript) else { return try RedisClient.checked(reply) }
        return try await command(script.command(keys: keys, arguments: arguments, byText: true))
    }
}

private let hexDigits = (0..<16).map { String($0, radix: 16) }
