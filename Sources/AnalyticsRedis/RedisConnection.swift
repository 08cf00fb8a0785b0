import AnalyticsBlockingIO
import AnalyticsCore
import CHiredis

#if canImport(Glibc)
import Glibc
#endif

/// A Redis reply.
public enum RedisReply: Sendable, Hashable {
    case string([UInt8])
    case status(String)
    case integer(Int)
    case array([RedisReply])
    case null
    case error(String)

    public var isError: Bool {
        if case .error = self { true } else { false }
    }

    public var text: String? {
        switch self {
        case .string(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let status): status
        default: nil
        }
    }

    public var integer: Int? {
        if case .integer(let value) = self { return value }
        return nil
    }

    public var array: [RedisReply]? {
        if case .array(let elements) = self { return elements }
        return nil
    }
}

/// What a write's reply says, without its value.
public enum WriteOutcome: Sendable, Equatable {
    /// Any reply that is neither an error, nor nil, nor an array holding an error.
    case done
    /// A nil reply: for `EXEC`, the transaction was aborted.
    case null
    /// An error reply, or an array reply's first error element.
    case error(String)
    /// An integer reply.
    case integer(Int)
    /// An array of integers: what a script that decides (the rate-limited adds) answers.
    case integers([Int])
}

/// What went wrong talking to Redis.
public enum RedisError: Error, Sendable, CustomStringConvertible {
    /// The connection could not be made or was lost; the command may not have run.
    case connection(String)
    /// Redis answered with an error.
    case server(String)
    /// The answer was not of the expected shape.
    case protocolViolation(String)

    public var description: String {
        switch self {
        case .connection(let reason): "redis connection: \(reason)"
        case .server(let reason): "redis error: \(reason)"
        case .protocolViolation(let reason): "unexpected redis reply: \(reason)"
        }
    }
}

/// A Redis server's host and port.
public struct RedisNodeAddress: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Where Redis is, from a URL such as `redis://:password@127.0.0.1:6379/0`, or with an ACL user,
/// `redis://user:password@127.0.0.1:6379/0`; or a Redis Cluster, from some of its nodes:
/// `redis+cluster://user:password@10.0.0.1:6379,10.0.0.2:6379` (the rest are found from them).
public struct RedisConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 6379
    /// The ACL user to authenticate as (with an empty password if none is given, as a `nopass` user
    /// accepts); without one, the password is the default user's.
    public var username: String?
    public var password: String?
    public var database = 0
    public var connectTimeout: Duration = .seconds(2)
    /// How long a command may take before the connection is given up; blocking reads add their block time.
    public var commandTimeout: Duration = .seconds(5)
    /// For a cluster, the nodes the URL names (the first is also `host` and `port`); empty for one server.
    public var clusterSeeds: [RedisNodeAddress] = []
    /// For a cluster, how long a command keeps being sent again while its slot has no reachable master
    /// (a failover, which takes the cluster's `cluster-node-timeout` and an election) before it fails.
    public var clusterRetryWindow: Duration = .seconds(5)

    public var isCluster: Bool { !clusterSeeds.isEmpty }

    /// Errors quote the URL without its password, since they are printed at start-up.
    public init(url: String) throws {
        let shown = URLRedaction.redact(url, userAloneIsPassword: true)
        let cluster = url.hasPrefix("redis+cluster://")
        guard url.hasPrefix("redis://") || cluster else {
            throw RedisError.connection("REDIS_URL must start with redis:// (or redis+cluster:// for a cluster): \(shown)")
        }
        var rest = Substring(url.dropFirst(cluster ? "redis+cluster://".count : "redis://".count))
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at].split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map {
                $0.isEmpty ? nil : String($0).removingPercentEncodingForURL()
            }
            password = credentials.last ?? nil
            username = credentials.count == 2 ? credentials[0] : nil
            rest = rest[rest.index(after: at)...]
        }
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            if !path.isEmpty {
                guard let number = Int(path) else { throw RedisError.connection("bad database number in \(shown)") }
                database = number
            }
            rest = rest[..<slash]
        }
        var addresses: [RedisNodeAddress] = []
        for part in cluster ? rest.split(separator: ",", omittingEmptySubsequences: false) : [rest] {
            var address = RedisNodeAddress(host: "127.0.0.1", port: 6379)
            var hostPart = part
            if let colon = part.lastIndex(of: ":"), !part.hasSuffix("]") {
                guard let number = Int(part[part.index(after: colon)...]), (1...65535).contains(number) else {
                    throw RedisError.connection("bad port in \(shown)")
                }
                address.port = number
                hostPart = part[..<colon]
            }
            if hostPart.hasPrefix("["), hostPart.hasSuffix("]") { hostPart = hostPart.dropFirst().dropLast() }
            if !hostPart.isEmpty { address.host = String(hostPart) }
            if cluster, part.isEmpty { throw RedisError.connection("an empty node in \(shown)") }
            addresses.append(address)
        }
        host = addresses[0].host
        port = addresses[0].port
        if cluster {
            guard database == 0 else { throw RedisError.connection("a cluster has only database 0: \(shown)") }
            clusterSeeds = addresses
        }
    }

    /// This configuration for one node of the cluster (or the server itself), with the same credentials.
    public func node(_ address: RedisNodeAddress) -> RedisConfiguration {
        var node = self
        node.host = address.host
        node.port = address.port
        node.clusterSeeds = []
        return node
    }

    public var address: RedisNodeAddress { RedisNodeAddress(host: host, port: port) }
}

/// The configuration as a URL without its password, so that printing or logging one shows no secret.
extension RedisConfiguration: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        let credentials = switch (username, password) {
        case (nil, nil): ""
        case (nil, _?): ":***@"
        case (let user?, nil): "\(user):@"
        case (let user?, _?): "\(user):***@"
        }
        if isCluster { return "redis+cluster://\(credentials)\(clusterSeeds.map(\.description).joined(separator: ","))" }
        return "redis://\(credentials)\(address)/\(database)"
    }

    public var debugDescription: String { description }
}

extension String {
    func removingPercentEncodingForURL() -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(self.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// One hiredis connection. Its calls block, so it is only used on a `BlockingConnectionPool` thread.
public final class RedisConnection: BlockingConnection {
    private var context: UnsafeMutablePointer<redisContext>?
    private let configuration: RedisConfiguration
    public private(set) var isBroken = false

    public init(_ configuration: RedisConfiguration) throws {
        self.configuration = configuration
        var timeout = Self.timeval(configuration.connectTimeout)
        guard let context = redisConnectWithTimeout(configuration.host, Int32(configuration.port), timeout) else {
            throw RedisError.connection("cannot allocate a hiredis context")
        }
        self.context = context
        if context.pointee.err != 0 {
            let reason = Self.errorText(context)
            close()
            throw RedisError.connection("cannot connect to \(configuration.host):\(configuration.port): \(reason)")
        }
        timeout = Self.timeval(configuration.commandTimeout)
        redisSetTimeout(context, timeout)
        redisEnableKeepAlive(context)
        var setup: [[String]] = []
        if let username = configuration.username {
            setup.append(["AUTH", username, configuration.password ?? ""])
        } else if let password = configuration.password {
            setup.append(["AUTH", password])
        }
        if configuration.database != 0 { setup.append(["SELECT", String(configuration.database)]) }
        for reply in try pipeline(setup.map { $0.map { RedisArgument($0) } }) {
            if case .error(let message) = reply {
                close()
                throw RedisError.connection(message)
            }
        }
    }

    deinit { close() }

    public func close() {
        if let context { redisFree(context) }
        context = nil
        isBroken = true
    }

    /// Sends every command in one write, then reads one reply each: one round trip for all of them.
    /// An error reply is returned as `.error`, not thrown; a lost connection throws.
    public func pipeline(_ commands: [[RedisArgument]], timeout: Duration? = nil) throws -> [RedisReply] {
        try pipeline(RESPRequest(commands), timeout: timeout)
    }

    /// Sends the request's commands in one write and reads a reply for each.
    public func pipeline(_ request: RESPRequest, timeout: Duration? = nil) throws -> [RedisReply] {
        try roundTrip(request, timeout: timeout) { Self.convert($0) }
    }

    /// Sends the request's commands in one write and reads, for each, only whether it succeeded: what
    /// a write needs, without copying the replies' values out of hiredis.
    public func pipelineOutcomes(_ request: RESPRequest) throws -> [WriteOutcome] {
        try roundTrip(request, timeout: nil) { reply in
            let value = reply.pointee
            switch value.type {
            case REDIS_REPLY_ERROR: return .error(Self.text(of: value))
            case REDIS_REPLY_NIL: return .null
            case REDIS_REPLY_ARRAY:
                if let error = Self.firstError(in: value) { return .error(error) }
                return Self.integers(in: value).map(WriteOutcome.integers) ?? .done
            case REDIS_REPLY_INTEGER: return .integer(Int(value.integer))
            default: return .done
            }
        }
    }

    /// Writes the request and reads one reply per command, each turned into a value by `read` before
    /// hiredis frees it.
    private func roundTrip<Reply>(
        _ request: RESPRequest, timeout: Duration?, read: (UnsafeMutablePointer<redisReply>) -> Reply
    ) throws -> [Reply] {
        guard let context, !isBroken else { throw RedisError.connection("connection is closed") }
        if let timeout { redisSetTimeout(context, Self.timeval(timeout)) }
        defer { if timeout != nil, !isBroken { redisSetTimeout(context, Self.timeval(configuration.commandTimeout)) } }
        let status = request.bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { redisAppendFormattedCommand(context, $0.baseAddress, $0.count) }
        }
        guard status == REDIS_OK else { throw broken(context) }
        var replies: [Reply] = []
        replies.reserveCapacity(request.commands)
        for _ in 0..<request.commands {
            var raw: UnsafeMutableRawPointer?
            guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw broken(context) }
            replies.append(read(raw.assumingMemoryBound(to: redisReply.self)))
            freeReplyObject(raw)
        }
        return replies
    }

    /// The first error among an array reply's elements (an `EXEC` answers with each command's reply).
    /// The elements of an array reply when all are integers (and there is at least one).
    private static func integers(in reply: redisReply) -> [Int]? {
        guard reply.elements > 0, reply.element[0]?.pointee.type == REDIS_REPLY_INTEGER else { return nil }
        var values: [Int] = []
        values.reserveCapacity(Int(reply.elements))
        for index in 0..<Int(reply.elements) {
            guard let element = reply.element[index]?.pointee, element.type == REDIS_REPLY_INTEGER else { return nil }
            values.append(Int(element.integer))
        }
        return values
    }

    private static func firstError(in reply: redisReply) -> String? {
        for index in 0..<Int(reply.elements) {
            if let element = reply.element[index]?.pointee, element.type == REDIS_REPLY_ERROR { return text(of: element) }
        }
        return nil
    }

    private func broken(_ context: UnsafeMutablePointer<redisContext>) -> RedisError {
        let reason = Self.errorText(context)
        isBroken = true
        return RedisError.connection(reason.isEmpty ? "connection lost" : reason)
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func text(of reply: redisReply) -> String {
        String(decoding: UnsafeRawBufferPointer(start: reply.str, count: Int(reply.len)), as: UTF8.self)
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .string(Array(UnsafeRawBufferPointer(start: value.str, count: Int(value.len))))
        case REDIS_REPLY_STATUS:
            return .status(text(of: value))
        case REDIS_REPLY_ERROR:
            return .error(text(of: value))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(value.integer))
        case REDIS_REPLY_ARRAY:
            var elements: [RedisReply] = []
            elements.reserveCapacity(Int(value.elements))
            for index in 0..<Int(value.elements) {
                if let element = value.element[index] { elements.append(convert(element)) } else { elements.append(.null) }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func timeval(_ duration: Duration) -> Glibc.timeval {
        let microseconds = duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000
        return Glibc.timeval(tv_sec: Int(microseconds / 1_000_000), tv_usec: Int(microseconds % 1_000_000))
    }
}
