import AnalyticsCore
import AnalyticsHTTP
import AnalyticsInMemory
import AnalyticsPostgres
import AnalyticsRedis
import AnalyticsWorker
import ArgumentParser
import Configuration
import Foundation
import Hummingbird
import Logging

/// Settings read from the environment, for anything a flag does not set.
/// Keys map to variables as swift-configuration does: `ingest.port` is `INGEST_PORT`.
enum Settings {
    static let environment = ConfigReader(provider: EnvironmentVariablesProvider(
        secretsSpecifier: .specific(["DATABASE_URL", "REDIS_URL", "METRICS_TOKEN"])))

    /// A flag, else the variable, else the default. A variable that is set but not an integer stops the
    /// process with a usage error (exit 64), rather than running on a default the operator did not choose.
    static func int(_ key: String, flag: Int?, default fallback: @autoclosure () -> Int) -> Int {
        if let flag { return flag }
        // Set but empty (`VAR=${VAR}` in compose files, systemd) means unset.
        guard let text = environment.string(forKey: ConfigKey(key)), !text.isEmpty else { return fallback() }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)) else {
            let name = key.uppercased().replacingOccurrences(of: ".", with: "_")
            FileHandle.standardError.write(Data("error: \(name) must be an integer, not '\(text)'\n".utf8))
            exit(64)
        }
        return value
    }

    /// One of a setting's values: a flag, else the variable, else the default. A value that is none of
    /// them stops the process with a usage error (exit 64).
    static func choice<Value: RawRepresentable & CaseIterable>(_ key: String, flag: String?, default fallback: Value) -> Value
    where Value.RawValue == String {
        guard let text = flag ?? environment.string(forKey: ConfigKey(key)), !text.isEmpty else { return fallback }
        guard let value = Value(rawValue: text.lowercased()) else {
            let name = flag == nil ? key.uppercased().replacingOccurrences(of: ".", with: "_") : "--" + key.replacingOccurrences(of: ".", with: "-")
            let allowed = Value.allCases.map(\.rawValue).joined(separator: " or ")
            FileHandle.standardError.write(Data("error: \(name) must be \(allowed), not '\(text)'\n".utf8))
            exit(64)
        }
        return value
    }

    /// Stops the process with a usage error (exit 64) about the setting `key`.
    static func usageError(_ key: String, flag: String?, _ problem: String) -> Never {
        let name = flag == nil ? key.uppercased().replacingOccurrences(of: ".", with: "_") : "--" + key.replacingOccurrences(of: ".", with: "-")
        FileHandle.standardError.write(Data("error: \(name) \(problem)\n".utf8))
        exit(64)
    }

    static func string(_ key: String, flag: String?) -> String? {
        flag ?? environment.string(forKey: ConfigKey(key))
    }

    /// Sets up logging to standard error at `LOG_LEVEL` (trace, debug, info, notice, warning, error), info by default.
    static func bootstrapLogging() -> Logger {
        let text = environment.string(forKey: "log.level")
        guard let level = text.map({ Logger.Level(rawValue: $0.lowercased()) }) ?? .info else {
            FileHandle.standardError.write(Data(
                "error: LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical, not '\(text!)'\n".utf8))
            exit(64)
        }
        LoggingSystem.bootstrap { label in
            var handler = LazyMetadataLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
        return Logger(label: "analytics")
    }
}

/// Where the queue and the store are: flags, then `REDIS_URL` and `DATABASE_URL`.
struct BackendOptions: ParsableArguments {
    @Option(name: .customLong("redis-url"), help: ArgumentHelp("The Redis queue, such as redis://127.0.0.1:6379/0, or a cluster by some of its nodes, redis+cluster://10.0.0.1:6379,10.0.0.2:6379. Default: $REDIS_URL.", valueName: "url"))
    var redisURL: String?

    @Option(name: .customLong("database-url"), help: ArgumentHelp("The Postgres store, such as postgres://analytics@127.0.0.1:5432/analytics. Default: $DATABASE_URL.", valueName: "url"))
    var databaseURL: String?

    @Option(help: ArgumentHelp("Seconds a reserved event may go unacknowledged before another worker takes it over (at least 2). Default: $VISIBILITY_TIMEOUT or 30.", valueName: "seconds"))
    var visibilityTimeout: Int?

    @Option(help: ArgumentHelp("Prefix of every Redis key. Default: $REDIS_KEY_PREFIX or analytics.", valueName: "prefix"))
    var redisKeyPrefix: String?

    @Option(help: ArgumentHelp("Streams the queue is split into, the same for every process (1 to 1024; raise it freely, lower it only with the queue drained). Default: $REDIS_PARTITIONS, or 1 on one server and 12 on a cluster.", valueName: "count"))
    var redisPartitions: Int?

    @Option(help: ArgumentHelp("Replicas that must acknowledge each write (Redis WAIT) before ingestion answers 200. Default: $REDIS_WAIT_REPLICAS or 0.", valueName: "count"))
    var redisWaitReplicas: Int?

    @Option(help: ArgumentHelp("Postgres schema for the tables. Default: $DATABASE_SCHEMA or the server's search path.", valueName: "schema"))
    var databaseSchema: String?

    @Option(help: ArgumentHelp("Events the reporting indexes of this process may hold in all (about 65 bytes each, and as much again per time zone in use); past it the least recently used sites are dropped and loaded again when asked for. Used by serve and report. Default: $REPORT_INDEXED_EVENTS or 20000000.", valueName: "count"))
    var indexedEvents: Int?

    @Flag(help: "Apply pending database migrations before starting (as `analytics migrate` does). Default: $MIGRATE=1.")
    var migrate = false

    /// The Redis queue; `readers` is how many worker loops will hold a connection in a blocking read.
    func queue(clock: any WallClock, readers: Int = 0) throws -> RedisStreamQueue {
        guard let url = Settings.string("redis.url", flag: redisURL) else {
            throw BackendUnavailable("no queue configured: set REDIS_URL (or --redis-url), or run `analytics serve --in-memory`")
        }
        var configuration = RedisQueueConfiguration()
        configuration.visibilityTimeout = visibility
        configuration.connections = max(configuration.connections, readers + 2)
        configuration.keyPrefix = Settings.string("redis.key.prefix", flag: redisKeyPrefix) ?? "analytics"
        let partitions = Settings.int("redis.partitions", flag: redisPartitions, default: Int.min)
        if partitions != Int.min {
            guard (1...RedisQueueConfiguration.maximumPartitions).contains(partitions) else {
                Settings.usageError("redis.partitions", flag: redisPartitions.map { "\($0)" }, "must be between 1 and \(RedisQueueConfiguration.maximumPartitions)")
            }
            configuration.partitions = partitions
        }
        let replicas = Settings.int("redis.wait.replicas", flag: redisWaitReplicas, default: 0)
        guard replicas >= 0 else { Settings.usageError("redis.wait.replicas", flag: redisWaitReplicas.map { "\($0)" }, "must be 0 or more") }
        if replicas > 0 { configuration.replicaWait = ReplicaWait(replicas: replicas) }
        do {
            return try RedisStreamQueue(url: url, configuration: configuration, clock: clock)
        } catch {
            throw BackendUnavailable("bad REDIS_URL \(Self.redacted(url)): \(error)")
        }
    }

    /// Where the script tag's daily visitor keys live: Redis, beside the queue, shared by every ingestion process.
    func visitorKeys() throws -> RedisVisitorKeyStore {
        guard let url = Settings.string("redis.url", flag: redisURL) else {
            throw BackendUnavailable("no queue configured: set REDIS_URL (or --redis-url), or run `analytics serve --in-memory`")
        }
        do {
            return try RedisVisitorKeyStore(url: url, keyPrefix: Settings.string("redis.key.prefix", flag: redisKeyPrefix) ?? "analytics")
        } catch {
            throw BackendUnavailable("bad REDIS_URL \(Self.redacted(url)): \(error)")
        }
    }

    /// The Postgres store; `writers` is how many worker loops will insert at once.
    func store(writers: Int = 0) throws -> PostgresEventStore {
        guard let url = Settings.string("database.url", flag: databaseURL) else {
            throw BackendUnavailable("no store configured: set DATABASE_URL (or --database-url), or run `analytics serve --in-memory`")
        }
        var configuration = PostgresStoreConfiguration()
        configuration.schema = Settings.string("database.schema", flag: databaseSchema)
        configuration.connections = max(configuration.connections, writers + 2)
        configuration.indexedEvents = max(0, Settings.int("report.indexed.events", flag: indexedEvents, default: configuration.indexedEvents))
        if let schema = configuration.schema, schema.isEmpty || !schema.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
            throw BackendUnavailable("DATABASE_SCHEMA must be letters, digits and underscores: \(schema)")
        }
        return PostgresEventStore(url: url, configuration: configuration)
    }

    /// The site registry, in the store's database and schema.
    func registry() throws -> PostgresSiteRegistry {
        try RegistryOptions.registry(url: Settings.string("database.url", flag: databaseURL), schema: Settings.string("database.schema", flag: databaseSchema))
    }

    /// Migrates `store` when asked to, by flag or by `MIGRATE=1`.
    func migrateIfAsked(_ store: PostgresEventStore, logger: Logger) async throws {
        guard migrate || Settings.environment.bool(forKey: "migrate") == true
            || Settings.environment.string(forKey: "migrate") == "1" else { return }
        try await runMigrations(store, logger: logger)
    }

    /// At least 2 s: the keep-alive touches a batch every half timeout, and below that other
    /// workers would take batches from live ones.
    var visibility: Duration { .seconds(max(2, Settings.int("visibility.timeout", flag: visibilityTimeout, default: 30))) }

    /// The URL without its password, for messages.
    static func redacted(_ url: String) -> String { URLRedaction.redact(url, userAloneIsPassword: true) }
}

/// Where the site registry is, for the commands that only change it: flags, then `DATABASE_URL` and
/// `DATABASE_SCHEMA`.
struct RegistryOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: ArgumentHelp("The Postgres database, such as postgres://analytics@127.0.0.1:5432/analytics. Default: $DATABASE_URL.", valueName: "url"))
    var databaseURL: String?

    @Option(help: ArgumentHelp("Postgres schema of the tables. Default: $DATABASE_SCHEMA or the server's search path.", valueName: "schema"))
    var databaseSchema: String?

    func registry() throws -> PostgresSiteRegistry {
        try Self.registry(url: Settings.string("database.url", flag: databaseURL), schema: Settings.string("database.schema", flag: databaseSchema))
    }

    static func registry(url: String?, schema: String?) throws -> PostgresSiteRegistry {
        guard let url else { throw BackendUnavailable("no database configured: set DATABASE_URL (or --database-url)") }
        if let schema, schema.isEmpty || !schema.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }) {
            throw BackendUnavailable("DATABASE_SCHEMA must be letters, digits and underscores: \(schema)")
        }
        return PostgresSiteRegistry(url: url, schema: schema)
    }
}

/// Applies pending migrations, retrying while the database is not up yet (a container starting beside it).
func runMigrations(_ store: PostgresEventStore, logger: Logger) async throws {
    for attempt in 1...30 {
        do {
            let applied = try await store.migrate()
            logger.info("migrations", metadata: ["applied": "\(applied)", "latest": "\(Migrations.all.last!.version)"])
            return
        } catch StoreFailure.unavailable(let reason) where attempt < 30 {
            logger.warning("database not reachable yet, retrying", metadata: ["error": "\(reason)"])
            try await Task.sleep(for: .seconds(1))
        }
    }
}

/// A backend that cannot be used; the command prints why and exits 1.
struct BackendUnavailable: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Flags shared by the commands that run an HTTP server.
struct ServerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Address to listen on. Default: $HOST or 0.0.0.0.", valueName: "address"))
    var host: String?

    @Option(help: ArgumentHelp("Ingestion stops accepting (503) above this many queued events. Default: $MAX_QUEUE_DEPTH or 1000000.", valueName: "events"))
    var maxQueueDepth: Int?

    @Option(help: ArgumentHelp("required: every reporting request presents a read token (analytics tokens create); off: anyone who reaches the port reads every site. Default: $REPORTING_AUTH, or required (off for serve --in-memory).", valueName: "required|off"))
    var reportingAuth: String?

    @Option(help: ArgumentHelp("registered: events only for sites registered with analytics sites add (403 otherwise); any: for any site, a registered site's origins and write key still enforced. Default: $INGEST_SITES, or registered where reporting needs a token, else any.", valueName: "registered|any"))
    var ingestSites: String?

    @Option(help: ArgumentHelp("Events a second each site may send, and its burst (RATE/BURST), or off; a site's own limit (sites add --rate-limit) wins. Default: $RATE_LIMIT_SITE or 1000/10000 (off for serve --in-memory).", valueName: "rate/burst"))
    var rateLimitSite: String?

    @Option(help: ArgumentHelp("Events a second each client address (an IPv6 client's /64) may send without a write key, and its burst, or off. Default: $RATE_LIMIT_ADDRESS or 50/500 (off for serve --in-memory).", valueName: "rate/burst"))
    var rateLimitAddress: String?

    @Option(help: ArgumentHelp("Proxies (addresses or CIDR networks, comma-separated) whose X-Forwarded-For names the client. Default: $TRUSTED_PROXIES or none: the socket's peer is the client.", valueName: "list"))
    var trustedProxies: String?

    @Option(help: ArgumentHelp("Seconds from a request's first byte to the end of its headers before the connection is closed. Default: $HEADER_TIMEOUT or 10.", valueName: "seconds"))
    var headerTimeout: Int?

    @Option(help: ArgumentHelp("Seconds between two reads of a request's body before the connection is closed. Default: $BODY_TIMEOUT or 10.", valueName: "seconds"))
    var bodyTimeout: Int?

    @Option(help: ArgumentHelp("Seconds a connection may wait for its next request (or its first). Default: $KEEPALIVE_TIMEOUT or 30.", valueName: "seconds"))
    var keepaliveTimeout: Int?

    @Option(help: ArgumentHelp("Connections open at once on each port; more are closed at once. Default: $MAX_CONNECTIONS or half the file descriptors (at most 16384).", valueName: "count"))
    var maxConnections: Int?

    @Option(help: ArgumentHelp("Connections open at once from one address (trusted proxies are not counted). Default: $MAX_CONNECTIONS_PER_ADDRESS or 256.", valueName: "count"))
    var maxConnectionsPerAddress: Int?

    var address: String { Settings.string("host", flag: host) ?? "0.0.0.0" }

    /// The connection limits of both ports (each port counts its own connections).
    var connectionLimits: ConnectionLimits {
        var limits = ConnectionLimits()
        limits.headerTimeout = .seconds(max(1, Settings.int("header.timeout", flag: headerTimeout, default: 10)))
        limits.bodyReadTimeout = .seconds(max(1, Settings.int("body.timeout", flag: bodyTimeout, default: 10)))
        limits.keepAliveTimeout = .seconds(max(1, Settings.int("keepalive.timeout", flag: keepaliveTimeout, default: 30)))
        limits.maximumConnections = max(1, Settings.int("max.connections", flag: maxConnections, default: ConnectionLimits.defaultMaximumConnections))
        limits.maximumConnectionsPerAddress = max(1, Settings.int("max.connections.per.address", flag: maxConnectionsPerAddress, default: 256))
        limits.exempt = rateLimits(inMemory: false).clients.trustedProxies
        return limits
    }

    /// The rate limits: `RATE_LIMIT_SITE`, `RATE_LIMIT_ADDRESS` and `TRUSTED_PROXIES`, each off when `off`.
    func rateLimits(inMemory: Bool) -> RateLimits {
        func limit(_ key: String, flag: String?, default fallback: String) -> RateLimit? {
            let text = Settings.string(key, flag: flag).flatMap { $0.isEmpty ? nil : $0 } ?? (inMemory ? "off" : fallback)
            if text.lowercased() == "off" { return nil }
            guard let limit = RateLimit(text) else {
                Settings.usageError(key, flag: flag, "must be RATE/BURST (such as 100/1000; a rate of 0.001 to 1e9 a second, a burst of 1 to 1e9 that refills within a day), RATE, or off, not '\(text)'")
            }
            return limit
        }
        var proxies: [IPAddressRange] = []
        for entry in (Settings.string("trusted.proxies", flag: trustedProxies) ?? "").split(separator: ",") {
            let text = entry.trimmingCharacters(in: .whitespaces)
            guard let range = IPAddressRange(text) else {
                Settings.usageError("trusted.proxies", flag: trustedProxies, "must list addresses or CIDR networks, not '\(text)'")
            }
            proxies.append(range)
        }
        return RateLimits(
            site: limit("rate.limit.site", flag: rateLimitSite, default: "1000/10000"),
            address: limit("rate.limit.address", flag: rateLimitAddress, default: "50/500"),
            clients: ClientAddressResolver(trustedProxies: proxies))
    }

    /// `REPORTING_AUTH`, defaulting to `fallback`.
    func reportingAuth(default fallback: ReportingAuth) -> ReportingAuth {
        Settings.choice("reporting.auth", flag: reportingAuth, default: fallback)
    }

    /// `INGEST_SITES`, defaulting to `registered` where reporting needs a token.
    func ingestSites(reporting: ReportingAuth) -> IngestSites {
        Settings.choice("ingest.sites", flag: ingestSites, default: reporting == .required ? .registered : .any)
    }
    var queueDepthLimit: Int { Settings.int("max.queue.depth", flag: maxQueueDepth, default: 1_000_000) }

    /// The ingestion API on `port`, refusing new events above the queue depth limit.
    func ingestion(
        queue: any EventQueue, clock: any WallClock, port: Int, access: IngestionAccess?, rateLimits: RateLimits,
        visitorKeys: any VisitorKeyStore, exporter: PrometheusExporter?, logger: Logger
    ) -> some ApplicationProtocol {
        var ingestion = IngestionConfiguration()
        ingestion.maximumQueueDepth = queueDepthLimit
        ingestion.rateLimits = rateLimits
        return Applications.ingestion(
            queue: queue, clock: clock, configuration: ingestion, access: access, connections: connectionLimits,
            server: ApplicationConfiguration(address: .hostname(address, port: port)), exporter: exporter,
            visitors: VisitorKeys(store: visitorKeys), logger: logger)
    }

    /// The reporting API on `port`.
    func reporting(store: any EventStore, port: Int, access: ReportingAccess?, exporter: PrometheusExporter?, logger: Logger) -> some ApplicationProtocol {
        Applications.reporting(
            store: store, access: access, connections: connectionLimits,
            server: ApplicationConfiguration(address: .hostname(address, port: port)), exporter: exporter, logger: logger)
    }
}

/// Flags of the worker role.
struct WorkerOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Events per batch. Default: $WORKER_BATCH_SIZE or 2000.", valueName: "count"))
    var batchSize: Int?

    @Option(help: ArgumentHelp("Attempts at an event the store rejects before it is dead-lettered. Default: $WORKER_MAX_ATTEMPTS or 5.", valueName: "count"))
    var maxAttempts: Int?

    @Option(help: ArgumentHelp("Seconds a batch may keep failing because the store is unavailable, while the store answers, before it is split and what still fails is dead-lettered (at least 60); while the store does not answer at all, batches wait however long. Default: $WORKER_MAX_OUTAGE or 900.", valueName: "seconds"))
    var maxOutage: Int?

    @Option(help: ArgumentHelp("Times an event may be handed out without being acknowledged (its worker died or stalled on it) before it is dead-lettered. Default: $WORKER_MAX_DELIVERIES or 10.", valueName: "count"))
    var maxDeliveries: Int?

    @Option(help: ArgumentHelp("This worker's consumer name; unique per worker. Default: $WORKER_NAME or host-pid.", valueName: "name"))
    var workerName: String?

    @Option(help: ArgumentHelp("Batches in flight at once, each under its own consumer name. Default: $WORKER_CONCURRENCY or 2.", valueName: "count"))
    var concurrency: Int?

    /// Accepted and ignored, so that a deployment upgrading from a build that had it still starts:
    /// migration 9 removed the user keys it sized.
    @Option(help: .hidden)
    var knownUsers: Int?

    /// One configuration per batch loop: `workers` times the concurrency. The consumer names are the
    /// worker's name, then the name followed by #1, #2 and so on (a character worker names seldom end
    /// with, so that workers named w and w-1 do not share one).
    func configurations(workers: Int = 1) -> [WorkerConfiguration] {
        let base = Settings.string("worker.name", flag: workerName)
            ?? "\(ProcessInfo.processInfo.hostName)-\(ProcessInfo.processInfo.processIdentifier)"
        let loops = max(1, workers) * max(1, Settings.int("worker.concurrency", flag: concurrency, default: 2))
        return (0..<loops).map { index in
            var configuration = WorkerConfiguration(consumer: index == 0 ? base : "\(base)#\(index)")
            configuration.batchSize = max(1, Settings.int("worker.batch.size", flag: batchSize, default: 2000))
            configuration.maxAttempts = max(1, Settings.int("worker.max.attempts", flag: maxAttempts, default: 5))
            // At least a minute: below that, one deadlock or a short restart would dead-letter a batch.
            configuration.maxOutage = .seconds(max(60, Settings.int("worker.max.outage", flag: maxOutage, default: 900)))
            configuration.maxDeliveries = max(1, Settings.int("worker.max.deliveries", flag: maxDeliveries, default: 10))
            return configuration
        }
    }
}
