import AnalyticsBlockingIO
import AnalyticsCore

/// A `SiteRegistry` in the tables of migration 11, on a connection of its own (libpq blocks: its calls
/// run on the pool's thread). Every change is one transaction that also bumps `registry_version`.
public final class PostgresSiteRegistry: SiteRegistry {
    private let pool: BlockingConnectionPool<PostgresConnection>

    /// `schema` as the store's: nil for the server's search path.
    public init(url: String, schema: String? = nil) {
        let settings = schema.map { ["search_path": PostgresEventStore.quoted($0)] } ?? [:]
        pool = BlockingConnectionPool(size: 1) { try PostgresConnection(url: url, settings: settings) }
    }

    public func shutdown() async { await pool.shutdown() }

    /// Runs `body` in a transaction, once more on a fresh connection when the first was found dead (every
    /// call is one transaction, so running it again is safe), turning failures into `RegistryError`.
    private func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withConnection { connection in
            try connection.execute("BEGIN")
            do {
                let result = try body(connection)
                try connection.execute("COMMIT")
                return result
            } catch {
                if !connection.isBroken { try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    /// Runs `body` on the connection, outside a transaction: for reads of one statement each.
    private func withConnection<T: Sendable>(_ wrapped: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        do {
            do {
                return try await pool.withConnection(wrapped)
            } catch let error as PostgresError where error.connectionLost {
                return try await pool.withConnection(wrapped)
            }
        } catch let error as RegistryError {
            throw error
        } catch {
            throw RegistryError.unavailable("\(error)")
        }
    }

    private static let bump = "UPDATE registry_version SET version = version + 1"
    private static func timestamp(_ parameter: String) -> String { "('epoch'::timestamptz + \(parameter)::bigint * interval '1 microsecond')" }

    public func addSite(_ id: String, origins: [String], rateLimit: RateLimit?, at now: Int64) async throws -> RegisteredSite {
        try await transaction { connection in
            let created = try connection.query(
                "INSERT INTO sites (site_id, created_at, rate_per_second, rate_burst) VALUES ($1, \(Self.timestamp("$2")), $3::float8, $4::integer) ON CONFLICT (site_id) DO UPDATE SET rate_per_second = EXCLUDED.rate_per_second, rate_burst = EXCLUDED.rate_burst RETURNING (extract(epoch FROM created_at) * 1000000)::bigint, encode(write_key_digest, 'hex')",
                [id, String(now), rateLimit.map { String($0.perSecond) }, rateLimit.map { String($0.burst) }]).rows[0]
            try connection.query("DELETE FROM site_origins WHERE site_id = $1", [id])
            let sorted = Array(Set(origins)).sorted()
            for origin in sorted {
                try connection.query("INSERT INTO site_origins (site_id, origin) VALUES ($1, $2)", [id, origin])
            }
            try connection.query(Self.bump)
            return RegisteredSite(
                id: id, origins: sorted, writeKey: created[1].flatMap { SecretDigest(hex: $0) }, rateLimit: rateLimit,
                createdAt: Int64(created[0]!)!)
        }
    }

    public func removeSite(_ id: String) async throws -> Bool {
        try await transaction { connection in
            let removed = try connection.query("DELETE FROM sites WHERE site_id = $1 RETURNING 1", [id]).rows.count
            if removed > 0 { try connection.query(Self.bump) }
            return removed > 0
        }
    }

    public func setWriteKey(_ digest: SecretDigest, forSite id: String) async throws {
        try await transaction { connection in
            let updated = try connection.query(
                "UPDATE sites SET write_key_digest = decode($2, 'hex') WHERE site_id = $1 RETURNING 1", [id, digest.hex]).rows.count
            guard updated == 1 else { throw RegistryError.unknownSite(id) }
            try connection.query(Self.bump)
        }
    }

    public func addToken(_ token: ReadToken) async throws {
        try await transaction { connection in
            // Locked, so that a site removed meanwhile cannot leave the token a grant to nothing.
            let known = Set(try connection.query(
                "SELECT site_id FROM sites WHERE site_id = ANY($1::text[]) FOR SHARE", [Self.array(token.sites)]).rows.compactMap { $0[0] })
            if let unknown = token.sites.first(where: { !known.contains($0) }) { throw RegistryError.unknownSite(unknown) }
            let inserted = try connection.query(
                "INSERT INTO read_tokens (token_id, name, digest, created_at) VALUES ($1, $2, decode($3, 'hex'), \(Self.timestamp("$4"))) ON CONFLICT DO NOTHING RETURNING 1",
                [token.id, token.name, token.digest.hex, String(token.createdAt)]).rows.count
            if inserted == 0 {
                // This very token, stored by an attempt whose COMMIT was sent and whose answer was lost: done.
                let same = try connection.query(
                    "SELECT 1 FROM read_tokens WHERE token_id = $1 AND digest = decode($2, 'hex')", [token.id, token.digest.hex]).rows.count
                if same == 1 { return }
                throw RegistryError.tokenExists(token.id)
            }
            try connection.query(
                "INSERT INTO read_token_sites (token_id, site_id) SELECT $1, unnest($2::text[])", [token.id, Self.array(token.sites)])
            try connection.query(Self.bump)
        }
    }

    public func revokeToken(id: String, at now: Int64) async throws -> Bool {
        try await transaction { connection in
            let revoked = try connection.query(
                // Revoked at this very instant already: an attempt whose COMMIT's answer was lost, now run again.
                "UPDATE read_tokens SET revoked_at = \(Self.timestamp("$2")) WHERE token_id = $1 AND (revoked_at IS NULL OR revoked_at = \(Self.timestamp("$2"))) RETURNING 1",
                [id, String(now)]).rows.count
            if revoked > 0 { try connection.query(Self.bump) }
            return revoked > 0
        }
    }

    public func sites() async throws -> [RegisteredSite] {
        try await transaction { try Self.sites(on: $0) }
    }

    public func tokens() async throws -> [ReadToken] {
        try await transaction { try Self.tokens(on: $0) }
    }

    /// Version, sites and tokens in one `REPEATABLE READ` transaction: one instant of the registry, so
    /// that a change committed between two of the reads cannot give a view half of it.
    public func snapshot() async throws -> RegistrySnapshot {
        try await withConnection { connection in
            try connection.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            do {
                let version = Int64(try connection.query("SELECT version FROM registry_version").rows.first?[0] ?? "0") ?? 0
                let snapshot = RegistrySnapshot(version: version, sites: try Self.sites(on: connection), tokens: try Self.tokens(on: connection))
                try connection.execute("COMMIT")
                return snapshot
            } catch {
                if !connection.isBroken { try? connection.execute("ROLLBACK") }
                throw error
            }
        }
    }

    private static func sites(on connection: PostgresConnection) throws -> [RegisteredSite] {
        let origins = Dictionary(grouping: try connection.query("SELECT site_id, origin FROM site_origins ORDER BY 1, 2").rows) { $0[0]! }
        return try connection.query(
            "SELECT site_id, encode(write_key_digest, 'hex'), (extract(epoch FROM created_at) * 1000000)::bigint, rate_per_second, rate_burst FROM sites ORDER BY site_id"
        ).rows.map { row in
            let limit = row[3].flatMap(Double.init).flatMap { rate in row[4].flatMap(Int.init).map { RateLimit(perSecond: rate, burst: $0) } }
            return RegisteredSite(
                id: row[0]!, origins: origins[row[0]!]?.map { $0[1]! } ?? [], writeKey: row[1].flatMap { SecretDigest(hex: $0) },
                rateLimit: limit, createdAt: Int64(row[2]!)!)
        }
    }

    private static func tokens(on connection: PostgresConnection) throws -> [ReadToken] {
        let grants = Dictionary(grouping: try connection.query("SELECT token_id, site_id FROM read_token_sites").rows) { $0[0]! }
        return try connection.query("""
            SELECT token_id, name, encode(digest, 'hex'), (extract(epoch FROM created_at) * 1000000)::bigint,
                (extract(epoch FROM revoked_at) * 1000000)::bigint
            FROM read_tokens ORDER BY created_at, token_id
            """
        ).rows.compactMap { row in
            guard let digest = SecretDigest(hex: row[2]!) else { return nil }
            return ReadToken(
                id: row[0]!, name: row[1], sites: grants[row[0]!]?.map { $0[1]! } ?? [], digest: digest,
                createdAt: Int64(row[3]!)!, revokedAt: row[4].flatMap { Int64($0) })
        }
    }

    public func version() async throws -> Int64 {
        try await withConnection { connection in
            Int64(try connection.query("SELECT version FROM registry_version").rows.first?[0] ?? "0") ?? 0
        }
    }

    /// A text[] literal of site ids (letters, digits and `._:-` only, as the contract allows; quoted anyway).
    private static func array(_ values: [String]) -> String {
        "{" + values.map { value in
            "\"" + String(value.flatMap { $0 == "\\" || $0 == "\"" ? ["\\", $0] : [$0] }) + "\""
        }.joined(separator: ",") + "}"
    }
}
