import ArgumentParser

@main
struct AnalyticsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analytics",
        abstract: "An analytics backend: event ingestion, a Redis queue, Postgres storage and reporting.",
        discussion: """
            The contract (spec/*.schema.json, embedded in this binary) defines every event, query and \
            answer. `analytics validate` checks events against it without any server.
            """,
        subcommands: [
            ServeCommand.self, IngestCommand.self, WorkerCommand.self, ReportCommand.self,
            MigrateCommand.self, SitesCommand.self, TokensCommand.self, DeadLetterCommand.self, RetentionCommand.self, ForgetCommand.self,
            ValidateCommand.self,
        ]
    )
}
