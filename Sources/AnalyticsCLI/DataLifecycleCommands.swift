import AnalyticsCore
import AnalyticsPostgres
import ArgumentParser
import Logging

struct RetentionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention",
        abstract: "Drop every event older than the months kept (whole months, UTC), and rebuild what reporting shows.",
        discussion: """
            --keep 13mo keeps the current month and the twelve before it; every event before them goes, with its \
            id. Each month is a partition of events, detached concurrently (inserts and reads go on) and dropped; \
            every reporting process loads the sites that had events in it again. Safe while everything runs, and \
            safe to run again: a run that stopped half way is finished by the next. From the first run on, an event \
            older than the first month kept is not stored (the workers count it as expired). Run it daily (cron, \
            a systemd timer), so that the first month kept moves with time.
            """
    )

    @Option(help: ArgumentHelp("How long to keep events: Nmo (months, the current one included) or Ny (years).", valueName: "13mo"))
    var keep: String

    @Flag(help: "Print the first month kept, and do nothing.")
    var dryRun = false

    @OptionGroup var backends: BackendOptions

    func run() async throws {
        let logger = Settings.bootstrapLogging()
        guard let policy = RetentionPolicy(keep) else {
            Output.error("analytics retention: --keep must be months (13mo) or years (2y), at least one month, not '\(keep)'")
            throw ExitCode(64)
        }
        let first = policy.firstMonthKept(now: SystemClock().now)
        if dryRun {
            Output.write("would drop every event before \(first)-01T00:00:00Z\n")
            return
        }
        let store = try withBackends { try backends.store() }
        do {
            let outcome = try await store.dropEvents(before: first)
            await store.shutdown()
            logger.notice("retention", metadata: [
                "before": "\(first)", "events": "\(outcome.events)", "sites": "\(outcome.sites.count)",
                "months": "\(outcome.months.map(\.description).joined(separator: ","))",
            ])
            Output.write("dropped \(outcome.events) events before \(first)-01T00:00:00Z"
                + (outcome.months.isEmpty ? "" : " (\(outcome.months.map(\.description).joined(separator: ", ")))")
                + " of \(outcome.sites.count) site\(outcome.sites.count == 1 ? "" : "s")\n")
        } catch {
            await store.shutdown()
            Output.error("analytics retention: \(error)")
            throw ExitCode.failure
        }
    }
}

struct ForgetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "forget",
        abstract: "Erase every event of one user of one site (a deletion request), and rebuild what reporting shows.",
        discussion: """
            The user's events are deleted in one transaction (after the site's inserts in flight that hold its \
            version) and every reporting process loads the site again, so no count, unique user or path of \
            theirs remains. Safe while workers run and safe to run again. \
            Their event ids stay taken, so that a resend of an erased event stays erased; events the user sends \
            afterwards are new ones. The log line names the user by a digest only.
            """
    )

    @Option(help: ArgumentHelp("The site.", valueName: "site"))
    var site: String

    @Option(help: ArgumentHelp("The user_id to erase, exactly as sent.", valueName: "user"))
    var user: String

    @OptionGroup var backends: BackendOptions

    func run() async throws {
        let logger = Settings.bootstrapLogging()
        let store = try withBackends { try backends.store() }
        do {
            let erased = try await store.erase(site: site, user: user)
            await store.shutdown()
            logger.notice("forget", metadata: ["site": "\(site)", "user_sha256": "\(Self.digest(user))", "events": "\(erased)"])
            Output.write("erased \(erased) event\(erased == 1 ? "" : "s") of that user on \(site)\n")
        } catch {
            await store.shutdown()
            Output.error("analytics forget: \(error)")
            throw ExitCode.failure
        }
    }

    /// The first 16 hexadecimal digits of the user id's SHA-256: enough to match a log line to a request,
    /// without writing the id the request asked to erase into the log.
    static func digest(_ user: String) -> String {
        String(SecretDigest(of: user).hex.prefix(16))
    }
}
