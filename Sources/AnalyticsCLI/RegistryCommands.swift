import AnalyticsCore
import AnalyticsPostgres
import AnalyticsSpec
import ArgumentParser
import JSONSchemaValidation

/// Opens the Postgres site registry of `backends`, runs `body` on it, and closes it; a registry that
/// cannot be reached (or is not migrated) is a one-line error and exit 1.
func withRegistry<T>(_ backends: RegistryOptions, _ body: (PostgresSiteRegistry) async throws -> T) async throws -> T {
    let registry = try withBackends { try backends.registry() }
    do {
        let result = try await body(registry)
        await registry.shutdown()
        return result
    } catch let error as RegistryError {
        await registry.shutdown()
        if case .unavailable = error {
            Output.error("analytics: \(error) (is the database migrated? `analytics migrate`)")
        } else {
            Output.error("analytics: \(error)")
        }
        throw ExitCode.failure
    }
}

/// Microseconds since the Unix epoch, now.
func nowMicroseconds() -> Int64 { SystemClock().now }

struct SitesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sites",
        abstract: "Register the sites events are taken for, their browser origins and write keys.",
        discussion: """
            With INGEST_SITES=registered (the default wherever reporting needs a token), ingestion takes \
            events only for registered sites. The registry is in Postgres ($DATABASE_URL); every process \
            sees a change within about a second.
            """,
        subcommands: [Add.self, List.self, Remove.self, WriteKey.self]
    )

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Register a site, or set the origins of a registered one.",
            discussion: """
                With origins, browsers may send the site's events from those origins only, and CORS answers \
                name the origin instead of *. Without, from anywhere. Running it again replaces the origins \
                and keeps the write key.
                """
        )

        @Argument(help: "The site's id, as events carry it in site_id.")
        var site: String

        @Option(name: .customLong("origin"), help: ArgumentHelp("A browser origin allowed to send events, such as https://example.com; repeat for more.", valueName: "origin"))
        var origins: [String] = []

        @Option(help: ArgumentHelp("The site's own ingestion limit, events a second and burst (such as 500/5000), instead of RATE_LIMIT_SITE.", valueName: "rate/burst"))
        var rateLimit: String?

        @OptionGroup var backends: RegistryOptions

        func validate() throws {
            if let problem = siteIDProblem(site) { throw ValidationError(problem) }
            if let rateLimit, RateLimit(rateLimit) == nil {
                throw ValidationError("--rate-limit must be RATE/BURST (such as 500/5000) or RATE, not '\(rateLimit)'")
            }
            for origin in origins where RegisteredSite.origin(origin) == nil {
                throw ValidationError("'\(origin)' is not an origin: scheme (http or https), host and optional port, such as https://example.com")
            }
        }

        func run() async throws {
            let normalized = origins.compactMap(RegisteredSite.origin)
            let limit = rateLimit.flatMap(RateLimit.init)
            let site = try await withRegistry(backends) { try await $0.addSite(self.site, origins: normalized, rateLimit: limit, at: nowMicroseconds()) }
            Output.write("\(site.id)\t\(site.origins.isEmpty ? "any origin" : site.origins.joined(separator: " "))\t\(site.rateLimit.map { "\($0) events/s/burst" } ?? "default rate limit")\n")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the registered sites: id, origins, whether a write key is set, rate limit, created.")

        @OptionGroup var backends: RegistryOptions

        func run() async throws {
            let sites = try await withRegistry(backends) { try await $0.sites() }
            var lines = [["SITE", "ORIGINS", "WRITE KEY", "RATE LIMIT", "CREATED"]]
            for site in sites {
                lines.append([
                    site.id, site.origins.isEmpty ? "*" : site.origins.joined(separator: ","), site.writeKey == nil ? "none" : "set",
                    site.rateLimit?.description ?? "default",
                    RFC3339Formatter.utc(microseconds: site.createdAt),
                ])
            }
            Output.write(table(lines))
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Unregister a site: its write key and its grants on every token go with it; its events stay stored."
        )

        @Argument var site: String
        @OptionGroup var backends: RegistryOptions

        func run() async throws {
            guard try await withRegistry(backends, { try await $0.removeSite(site) }) else {
                Output.error("analytics: no site \(site) is registered")
                throw ExitCode.failure
            }
            Output.error("removed \(site)")
        }
    }

    struct WriteKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "write-key",
            abstract: "Create or rotate a site's write key and print it, once.",
            discussion: """
                Server-side senders then present it as HTTP Basic user name (password empty), as Segment's \
                libraries do; without it their events are refused with 401. Browsers from the site's origins \
                need none. The previous key stops working within about a second. Only its SHA-256 digest is stored.
                """
        )

        @Argument var site: String
        @OptionGroup var backends: RegistryOptions

        func run() async throws {
            let key = Credentials.newWriteKey()
            try await withRegistry(backends) { try await $0.setWriteKey(SecretDigest(of: key), forSite: site) }
            Output.write(key + "\n")
        }
    }
}

struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and revoke the read tokens of the reporting API.",
        discussion: """
            With REPORTING_AUTH=required (the default on real backends) every reporting request presents \
            one as `Authorization: Bearer TOKEN`, and reads only the sites it was created for.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a read token for one or more sites and print it, once: only its digest is stored."
        )

        @Option(name: .customLong("site"), help: ArgumentHelp("A site the token reads; repeat for more.", valueName: "site"))
        var sites: [String] = []

        @Option(help: ArgumentHelp("A name to tell the token by in `tokens list`.", valueName: "name"))
        var name: String?

        @OptionGroup var backends: RegistryOptions

        func validate() throws {
            guard !sites.isEmpty else { throw ValidationError("name at least one --site") }
        }

        func run() async throws {
            let (secret, id) = Credentials.newReadToken()
            let token = ReadToken(id: id, name: name, sites: sites, digest: SecretDigest(of: secret), createdAt: nowMicroseconds())
            try await withRegistry(backends) { try await $0.addToken(token) }
            Output.write(secret + "\n")
            Output.error("token \(id) reads \(token.sites.joined(separator: ", ")); it is shown only now")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens, revoked ones included: id, name, sites, created, revoked.")

        @OptionGroup var backends: RegistryOptions

        func run() async throws {
            let tokens = try await withRegistry(backends) { try await $0.tokens() }
            var lines = [["ID", "NAME", "SITES", "CREATED", "REVOKED"]]
            for token in tokens {
                lines.append([
                    token.id, token.name ?? "-", token.sites.isEmpty ? "-" : token.sites.joined(separator: ","),
                    RFC3339Formatter.utc(microseconds: token.createdAt), token.revokedAt.map { RFC3339Formatter.utc(microseconds: $0) } ?? "-",
                ])
            }
            Output.write(table(lines))
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by its id: every reporting process refuses it within a few seconds."
        )

        @Argument(help: "The token's id (from `tokens list`), or the token itself.")
        var id: String

        @OptionGroup var backends: RegistryOptions

        func run() async throws {
            let id = Credentials.readTokenID(self.id).map(String.init) ?? self.id
            guard try await withRegistry(backends, { try await $0.revokeToken(id: id, at: nowMicroseconds()) }) else {
                // Named only when it has an id's shape: what was given may be a mistyped token.
                let shaped = id.utf8.count == 12 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
                Output.error("analytics: no live token " + (shaped ? id : "with that id (an id is the 12 characters after rt_)"))
                throw ExitCode.failure
            }
            Output.error("revoked \(id)")
        }
    }
}

/// Why `id` cannot be a site id under the contract (spec/event.schema.json's site_id), or nil.
func siteIDProblem(_ id: String) -> String? {
    let event = JSONValue.object(JSONObject(uniqueMembers: [
        ("site_id", .string(id)), ("event_type", .string("view")), ("path", .string("/")), ("timestamp", .string("2025-01-01T00:00:00Z")),
    ]))
    let decoded = EventDecoder(contract: .embedded).decodeEvent(Array(JSONWriter.string(event).utf8)) { EventID(high: 0, low: 0) }
    guard case .failure(let violation) = decoded else { return nil }
    return "'\(id)' is not a site id: " + violation.details.map(\.message).joined(separator: "; ")
}

/// Rows as columns padded to their widest cell.
func table(_ rows: [[String]]) -> String {
    let widths = (0..<(rows.first?.count ?? 0)).map { column in rows.map { $0[column].count }.max() ?? 0 }
    return rows.map { row in
        row.enumerated().map { column, cell in
            column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count + 2)
        }.joined()
    }.joined(separator: "\n") + "\n"
}
