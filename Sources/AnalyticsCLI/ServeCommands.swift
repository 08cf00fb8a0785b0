import AnalyticsCore
import AnalyticsHTTP
import AnalyticsInMemory
import AnalyticsPostgres
import AnalyticsRedis
import AnalyticsWorker
import ArgumentParser
import Hummingbird
import Logging
import ServiceLifecycle

/// A backend whose connections are closed, on their own threads, when the process stops.
protocol ClosableBackend: Sendable {
    func shutdown() async
}

extension RedisStreamQueue: ClosableBackend {}
extension PostgresEventStore: ClosableBackend {}
extension RedisVisitorKeyStore: ClosableBackend {}

/// Runs services until SIGINT or SIGTERM, shuts them down gracefully, then closes `backends`.
func runUntilSignalled(_ services: [any Service], closing backends: [Any] = [], logger: Logger) async throws {
    let group = ServiceGroup(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    var failure: (any Error)?
    do {
        try await group.run()
    } catch {
        failure = error
    }
    for case let backend as any ClosableBackend in backends { await backend.shutdown() }
    if let failure { throw failure }
}

/// Prints a backend problem as a one-line error and exits 1, instead of a crash or a stack trace.
func withBackends<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as BackendUnavailable {
        Output.error("analytics: \(error.description)")
        throw ExitCode.failure
    }
}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run ingestion, the worker and reporting in one process.",
        discussion: """
            Ingestion listens on --ingest-port ($INGEST_PORT, default 3000) and reporting on \
            --report-port ($REPORT_PORT, default 4000). With --in-memory the queue and the store live in \
            this process and no server is needed; events are lost when it stops. Otherwise the queue is \
            Redis ($REDIS_URL) and the store Postgres ($DATABASE_URL).
            """
    )

    @Option(help: ArgumentHelp("Port of the ingestion API. Default: $INGEST_PORT or 3000.", valueName: "port"))
    var ingestPort: Int?

    @Option(help: ArgumentHelp("Port of the reporting API. Default: $REPORT_PORT or 4000.", valueName: "port"))
    var reportPort: Int?

    @Flag(help: "Keep the queue and the store in memory: nothing to install, nothing kept.")
    var inMemory = false

    @Option(help: ArgumentHelp("Workers to run. Default: $WORKERS or 1.", valueName: "count"))
    var workers: Int?

    @OptionGroup var server: ServerOptions
    @OptionGroup var backends: BackendOptions
    @OptionGroup var worker: WorkerOptions
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        let logger = Settings.bootstrapLogging()
        let exporter = metrics.exporter()
        let clock = SystemClock()
        let loops = worker.configurations(workers: Settings.int("workers", flag: workers, default: 1))
        let reportingAuth = server.reportingAuth(default: inMemory ? .off : .required)
        let ingestSites = server.ingestSites(reporting: reportingAuth)
        let queue: any EventQueue
        let store: any EventStore
        let visitorKeys: any VisitorKeyStore
        var registry: PostgresSiteRegistry?
        if inMemory {
            if reportingAuth == .required || ingestSites == .registered {
                Output.error("analytics: --reporting-auth required and --ingest-sites registered need the site registry in Postgres, which --in-memory has not")
                throw ExitCode(64)
            }
            (queue, store) = (InMemoryQueue(clock: clock, visibilityTimeout: backends.visibility), InMemoryStore())
            visitorKeys = InMemoryVisitorKeyStore()
        } else {
            let postgres = try withBackends { try backends.store(writers: loops.count) }
            (queue, store) = (try withBackends { try backends.queue(clock: clock, readers: loops.count) }, postgres)
            try await backends.migrateIfAsked(postgres, logger: logger)
            registry = try withBackends { try backends.registry() }
            visitorKeys = try withBackends { try backends.visitorKeys() }
        }
        exporter?.sampleQueue(queue)
        let measured: any EventStore = exporter.map { MeteredEventStore(store, factory: $0.factory) } ?? store
        let ingestPort = Settings.int("ingest.port", flag: self.ingestPort, default: 3000)
        let reportPort = Settings.int("report.port", flag: self.reportPort, default: 4000)
        var services: [any Service] = []
        var ingestionAccess: IngestionAccess?
        var reportingAccess: ReportingAccess?
        if let registry {
            let refresh = await RegistryRefresh.start(registry, logger: logger)
            services.append(refresh)
            ingestionAccess = IngestionAccess(view: refresh.view, sites: ingestSites)
            reportingAccess = reportingAuth == .required ? ReportingAccess(view: refresh.view) : nil
        }
        services += [
            server.ingestion(
                queue: queue, clock: clock, port: ingestPort, access: ingestionAccess, rateLimits: server.rateLimits(inMemory: inMemory),
                visitorKeys: visitorKeys, exporter: exporter, logger: Logger(label: "analytics.ingest")),
            server.reporting(store: measured, port: reportPort, access: reportingAccess, exporter: exporter, logger: Logger(label: "analytics.report")),
        ]
        for configuration in loops {
            services.append(EventWorker(
                queue: queue, store: measured, clock: clock, configuration: configuration, logger: Logger(label: "analytics.worker")))
        }
        logger.info("serving", metadata: [
            "ingest": "http://\(server.address):\(ingestPort)", "report": "http://\(server.address):\(reportPort)",
            "backends": "\(inMemory ? "in-memory" : "redis + postgres")",
            "reporting_auth": "\(reportingAuth.rawValue)", "ingest_sites": "\(ingestSites.rawValue)",
            "metrics": "\(exporter == nil ? "off" : "/metrics on both ports")",
        ])
        try await runUntilSignalled(services, closing: [queue, store, registry as Any, visitorKeys], logger: logger)
    }
}

struct IngestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ingest",
        abstract: "Run the ingestion API alone (POST /event, POST /events, Segment's /v1/*, /script.js and /collect), queueing to Redis.",
        discussion: "It listens on --port, $PORT, $INGEST_PORT or 3000, in that order."
    )

    @Option(help: ArgumentHelp("Port to listen on.", valueName: "port"))
    var port: Int?

    @OptionGroup var server: ServerOptions
    @OptionGroup var backends: BackendOptions
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        let logger = Settings.bootstrapLogging()
        let exporter = metrics.exporter()
        let clock = SystemClock()
        let queue = try withBackends { try backends.queue(clock: clock) }
        // Ingestion reports the queue too, so that its figures are there when every worker is down.
        exporter?.sampleQueue(queue)
        let visitorKeys = try withBackends { try backends.visitorKeys() }
        let port = Settings.int("port", flag: self.port, default: Settings.int("ingest.port", flag: nil, default: 3000))
        // Registered sites only, unless told otherwise; the registry is in the database. Without a database
        // and with INGEST_SITES=any, no check at all (the seed's behaviour).
        let sites = server.ingestSites(reporting: .required)
        var services: [any Service] = []
        var access: IngestionAccess?
        var registry: PostgresSiteRegistry?
        if sites == .registered || Settings.string("database.url", flag: backends.databaseURL) != nil {
            let opened = try withBackends { try backends.registry() }
            let refresh = await RegistryRefresh.start(opened, logger: logger)
            (registry, access) = (opened, IngestionAccess(view: refresh.view, sites: sites))
            services.append(refresh)
        }
        services.append(server.ingestion(
            queue: queue, clock: clock, port: port, access: access, rateLimits: server.rateLimits(inMemory: false), visitorKeys: visitorKeys,
            exporter: exporter, logger: logger))
        logger.info("ingesting", metadata: ["port": "\(port)", "ingest_sites": "\(sites.rawValue)", "registry": "\(registry == nil ? "none" : "postgres")"])
        try await runUntilSignalled(services, closing: [queue, registry as Any, visitorKeys], logger: logger)
    }
}

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Run the reporting API alone (GET /stats), answering from Postgres.",
        discussion: "It listens on --port, $PORT, $REPORT_PORT or 4000, in that order."
    )

    @Option(help: ArgumentHelp("Port to listen on.", valueName: "port"))
    var port: Int?

    @OptionGroup var server: ServerOptions
    @OptionGroup var backends: BackendOptions
    @OptionGroup var metrics: MetricsOptions

    func run() async throws {
        let logger = Settings.bootstrapLogging()
        let exporter = metrics.exporter()
        let store = try withBackends { try backends.store() }
        try await backends.migrateIfAsked(store, logger: logger)
        let port = Settings.int("port", flag: self.port, default: Settings.int("report.port", flag: nil, default: 4000))
        var services: [any Service] = []
        var access: ReportingAccess?
        var registry: PostgresSiteRegistry?
        if server.reportingAuth(default: .required) == .required {
            let opened = try withBackends { try backends.registry() }
            let refresh = await RegistryRefresh.start(opened, logger: logger)
            (registry, access) = (opened, ReportingAccess(view: refresh.view))
            services.append(refresh)
        }
        let measured: any EventStore = exporter.map { MeteredEventStore(store, factory: $0.factory) } ?? store
        services.append(server.reporting(store: measured, port: port, access: access, exporter: exporter, logger: logger))
        logger.info("reporting", metadata: ["port": "\(port)", "reporting_auth": "\(access == nil ? "off" : "required")"])
        try await runUntilSignalled(services, closing: [store, registry as Any], logger: logger)
    }
}

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run one worker: move events from the Redis queue into Postgres, --concurrency batches at a time.",
        discussion: """
            Run as many as you like, on as many machines: each takes its own batches, and takes over \
            the batches of one that stopped. SIGTERM or SIGINT finishes the batch in hand, then exits.
            """
    )

    @OptionGroup var worker: WorkerOptions
    @OptionGroup var backends: BackendOptions
    @OptionGroup var metrics: MetricsOptions
    @OptionGroup var port: WorkerPortOptions

    @Option(help: ArgumentHelp("Address the metrics port listens on. Default: $HOST or 0.0.0.0.", valueName: "address"))
    var host: String?

    func run() async throws {
        let logger = Settings.bootstrapLogging()
        let exporter = metrics.exporter()
        let metricsPort = port.port
        let clock = SystemClock()
        let loops = worker.configurations()
        let (queue, store) = try withBackends {
            (try backends.queue(clock: clock, readers: loops.count), try backends.store(writers: loops.count))
        }
        try await backends.migrateIfAsked(store, logger: logger)
        let measured: any EventStore = exporter.map { MeteredEventStore(store, factory: $0.factory) } ?? store
        // The metrics port first: services stop in reverse order, so /readyz and /metrics stay up while the
        // batches in hand are finished.
        var services: [any Service] = []
        if let exporter, let metricsPort {
            exporter.sampleQueue(queue)
            let address = Settings.string("host", flag: host) ?? "0.0.0.0"
            var limits = ConnectionLimits()
            limits.maximumConnections = 64
            limits.maximumConnectionsPerAddress = 16
            let application = Applications.workerMetrics(
                exporter: exporter, checks: [("queue", { try await queue.ping() }), ("store", { try await store.ping() })],
                connections: limits, server: ApplicationConfiguration(address: .hostname(address, port: metricsPort.number)),
                onServerRunning: { bound in
                    logger.info("worker metrics", metadata: ["address": "http://\(address):\(bound.map(String.init) ?? "?")/metrics"])
                },
                logger: Logger(label: "analytics.worker.metrics"))
            if metricsPort.chosen {
                services.append(application)
            } else {
                services.append(BestEffortService(inner: application, what: "the metrics port \(address):\(metricsPort.number)", logger: logger))
            }
        }
        services += loops.map { EventWorker(queue: queue, store: measured, clock: clock, configuration: $0, logger: logger) as any Service }
        try await runUntilSignalled(services, closing: [queue, store], logger: logger)
    }
}

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Apply pending database migrations to $DATABASE_URL.",
        discussion: """
            Migrations are versioned and recorded in the table schema_migrations; running this again \
            applies only what is new. Processes started with --migrate (or MIGRATE=1) do the same at start.
            """
    )

    @OptionGroup var backends: BackendOptions

    func run() async throws {
        let logger = Settings.bootstrapLogging()
        let store = try withBackends { try backends.store() }
        do {
            try await runMigrations(store, logger: logger)
        } catch {
            Output.error("analytics migrate: \(error)")
            throw ExitCode.failure
        }
        await store.shutdown()
    }
}
