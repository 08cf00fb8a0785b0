import Synchronization

/// A Lua script run by its SHA-1 digest (`EVALSHA`) from Redis's script cache. Its text is sent once, to
/// learn the digest (`SCRIPT LOAD`), and again only when Redis answers `NOSCRIPT` because its cache was
/// emptied (a restart, `SCRIPT FLUSH`): then the call goes as `EVAL`, which caches the script again.
public final class RedisScript: Sendable {
    public let source: String
    private let knownDigest = Mutex<String?>(nil)

    public init(_ source: String) {
        self.source = source
    }

    /// The digest Redis gave the script, once it has been loaded.
    public var digest: String? { knownDigest.withLock { $0 } }

    /// `EVALSHA`, or before the digest is known, `EVAL`.
    func command(keys: [RedisArgument], arguments: [RedisArgument]) -> [RedisArgument] {
        let head: [RedisArgument] = digest.map { ["EVALSHA", .init($0)] } ?? ["EVAL", .init(source)]
        return head + [.init(keys.count)] + keys + arguments
    }

    fileprivate func remember(_ digest: String) {
        knownDigest.withLock { $0 = digest }
    }
}

extension RedisClient {
    /// Runs `script`; an error reply is thrown as `RedisError.server`.
    @discardableResult
    public func evaluate(_ script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument]) async throws -> RedisReply {
        try await prepare(script)
        let reply = try await pipeline([script.command(keys: keys, arguments: arguments)])[0]
        return try await scriptReply(reply, of: script, keys: keys, arguments: arguments)
    }

    /// Learns `script`'s digest if it is not known yet, so that `script.command` is an `EVALSHA`.
    func prepare(_ script: RedisScript) async throws {
        guard script.digest == nil else { return }
        guard let digest = try await command("SCRIPT", "LOAD", .init(script.source)).text else {
            throw RedisError.protocolViolation("SCRIPT LOAD answered without a digest")
        }
        script.remember(digest)
    }

    /// `reply`, an answer to `script.command(keys:arguments:)`, checked; after `NOSCRIPT`, the script's
    /// answer to `EVAL`, which also caches it again.
    func scriptReply(_ reply: RedisReply, of script: RedisScript, keys: [RedisArgument], arguments: [RedisArgument]) async throws -> RedisReply {
        guard case .error(let message) = reply, message.hasPrefix("NOSCRIPT ") else { return try Self.checked(reply) }
        return try await command(["EVAL", .init(script.source), .init(keys.count)] + keys + arguments)
    }
}
