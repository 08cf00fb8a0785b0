import AnalyticsCore
import Synchronization

/// A `SiteRegistry` in this process: for tests, and for `serve --in-memory` with access checks turned on.
public final class InMemorySiteRegistry: SiteRegistry {
    private struct State {
        var sites: [String: RegisteredSite] = [:]
        var tokens: [ReadToken] = []
        var version: Int64 = 0
    }

    private let state = Mutex(State())

    public init() {}

    public func addSite(_ id: String, origins: [String], rateLimit: RateLimit?, at now: Int64) async throws -> RegisteredSite {
        state.withLock { state in
            var site = state.sites[id] ?? RegisteredSite(id: id, createdAt: now)
            site.origins = Array(Set(origins)).sorted()
            site.rateLimit = rateLimit
            state.sites[id] = site
            state.version += 1
            return site
        }
    }

    public func removeSite(_ id: String) async throws -> Bool {
        state.withLock { state in
            guard state.sites.removeValue(forKey: id) != nil else { return false }
            for index in state.tokens.indices { state.tokens[index].sites.removeAll { $0 == id } }
            state.version += 1
            return true
        }
    }

    public func setWriteKey(_ digest: SecretDigest, forSite id: String) async throws {
        try state.withLock { state in
            guard state.sites[id] != nil else { throw RegistryError.unknownSite(id) }
            state.sites[id]!.writeKey = digest
            state.version += 1
        }
    }

    public func addToken(_ token: ReadToken) async throws {
        try state.withLock { state in
            if let unknown = token.sites.first(where: { state.sites[$0] == nil }) { throw RegistryError.unknownSite(unknown) }
            if state.tokens.contains(where: { $0.id == token.id }) { throw RegistryError.tokenExists(token.id) }
            state.tokens.append(token)
            state.version += 1
        }
    }

    public func revokeToken(id: String, at now: Int64) async throws -> Bool {
        state.withLock { state in
            // Revoked at this very instant already counts, as a retried revocation does in Postgres.
            guard let index = state.tokens.firstIndex(where: { $0.id == id && ($0.revokedAt == nil || $0.revokedAt == now) }) else { return false }
            state.tokens[index].revokedAt = now
            state.version += 1
            return true
        }
    }

    public func sites() async throws -> [RegisteredSite] {
        state.withLock { $0.sites.values.sorted { $0.id < $1.id } }
    }

    public func tokens() async throws -> [ReadToken] {
        state.withLock { $0.tokens }
    }

    public func version() async throws -> Int64 {
        state.withLock { $0.version }
    }

    public func snapshot() async throws -> RegistrySnapshot {
        state.withLock { RegistrySnapshot(version: $0.version, sites: Array($0.sites.values), tokens: $0.tokens) }
    }
}
