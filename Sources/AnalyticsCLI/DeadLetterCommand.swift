import AnalyticsCore
import AnalyticsSpec
import ArgumentParser
import JSONSchemaValidation

struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, replay or purge dead letters: events the store rejected on every attempt.",
        subcommands: [List.self, Replay.self, Purge.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print dead letters as NDJSON, oldest first, with the queue's depth on standard error.")

        @Option(help: "How many to print.")
        var limit = 100

        @OptionGroup var backends: BackendOptions

        func run() async throws {
            let queue = try withBackends { try backends.queue(clock: SystemClock()) }
            for letter in try await queue.deadLetters(limit: limit) {
                let line: JSONValue = [
                    "id": .string(letter.id), "reason": .string(letter.reason),
                    "attempts": .number(Double(letter.attempts)),
                    "failed_at": .string(RFC3339Formatter.utc(microseconds: letter.failedAt)),
                    "event": EventCodec.json(letter.event),
                ]
                Output.write(JSONWriter.string(line) + "\n")
            }
            let depth = try await queue.depth()
            Output.error("ready \(depth.ready), pending \(depth.pending), delayed \(depth.delayed), dead \(depth.dead)")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queue dead letters again as first attempts.")

        @OptionGroup var selection: DeadLetterSelection
        @OptionGroup var backends: BackendOptions

        func run() async throws {
            let queue = try withBackends { try backends.queue(clock: SystemClock()) }
            Output.write("replayed \(try await queue.replayDeadLetters(ids: selection.ids))\n")
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete dead letters for good.")

        @OptionGroup var selection: DeadLetterSelection
        @OptionGroup var backends: BackendOptions

        func run() async throws {
            let queue = try withBackends { try backends.queue(clock: SystemClock()) }
            Output.write("purged \(try await queue.purgeDeadLetters(ids: selection.ids))\n")
        }
    }
}

/// Which dead letters a command acts on: the IDs given, or every one with --all.
struct DeadLetterSelection: ParsableArguments {
    @Flag(help: "Every dead letter.")
    var all = false

    @Argument(help: "IDs of dead letters, as `dlq list` prints them.")
    var given: [String] = []

    func validate() throws {
        guard all != !given.isEmpty else { throw ValidationError("give dead-letter IDs or --all, not both or neither") }
    }

    /// The IDs, or nil for all.
    var ids: [String]? { all ? nil : given }
}
