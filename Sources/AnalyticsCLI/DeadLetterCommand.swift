import AnalyticsCore
import AnalyticsSpec
import ArgumentParser
import JSONSchemaValidation

struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "List, replay or purge dead letters: events the worker gave up on, with the reason.",
        subcommands: [List.self, Replay.self, Purge.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print dead letters as NDJSON, oldest first, with the queue's depth on standard error.",
            discussion: """
                A queue entry that is not an event (dead-lettered as undecodable) is printed with "event": null \
                and its payload as it is held, in "payload"; replay queues it as it is, and purge deletes it.
                """
        )

        @Option(help: "How many to print.")
        var limit = 100

        @OptionGroup var backends: BackendOptions

        func run() async throws {
            let queue = try withBackends { try backends.queue(clock: SystemClock()) }
            for letter in try await queue.deadLetters(limit: limit) {
                var line: [(key: String, value: JSONValue)] = [
                    (key: "id", value: .string(letter.id)), (key: "reason", value: .string(letter.reason)),
                    (key: "attempts", value: .number(Double(letter.attempts))),
                    (key: "failed_at", value: .string(RFC3339Formatter.utc(microseconds: letter.failedAt))),
                    (key: "event", value: letter.event.map(EventCodec.json) ?? .null),
                ]
                // Listed rather than skipped, so that it can be seen, and purged or replayed by its ID.
                if letter.event == nil { line.append((key: "payload", value: .string(letter.payload))) }
                Output.write(JSONWriter.string(.object(JSONObject(uniqueMembers: line))) + "\n")
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
