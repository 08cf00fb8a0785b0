import AnalyticsCore
import AnalyticsSpec
import JSONSchemaValidation

/// The day's visitor key in Redis at `<prefix>:visitor-key:<day>`, shared by every ingestion process:
/// one `SET … NX GET EX` both makes it (when no process has) and reads it (when one has), so two processes
/// racing on the first hit of a day agree. It expires two days after it was made, and nothing else keeps it.
/// In a cluster, each day's key is on the master of its own slot.
public final class RedisVisitorKeyStore: VisitorKeyStore {
    private let topology: RedisTopology<RedisClient>
    private let keyPrefix: String

    public init(url: String, keyPrefix: String) throws {
        topology = RedisTopology(
            configuration: try RedisConfiguration(url: url), makeNode: { RedisClient(configuration: $0, connections: 2) },
            client: { $0 }, close: { await $0.shutdown() })
        self.keyPrefix = keyPrefix
    }

    public func key(for day: CalendarDate) async throws -> [UInt8] {
        let candidate = VisitorKeys.newKey()
        let seconds = Int(Self.lifetime.components.seconds)
        let key = "\(keyPrefix):visitor-key:\(day)"
        let client = RedisSlotRunner(topology: topology, slot: RedisSlot.of(key)) { $0 }
        let reply = try await client.command(["SET", .init(key), .init(bytes: candidate), "NX", "GET", "EX", .init(seconds)])
        switch reply {
        case .null: return candidate
        case .string(let existing) where existing.count == VisitorKeys.keyBytes: return existing
        default:
            // Not the reply itself: it may hold a key.
            throw QueueUnavailable("unexpected reply to the visitor key's SET (not a \(VisitorKeys.keyBytes)-byte key)")
        }
    }

    public func shutdown() async { await topology.shutdown() }
}
