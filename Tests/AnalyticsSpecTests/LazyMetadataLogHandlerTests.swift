@testable import AnalyticsCLI
import Logging
import Synchronization
import Testing

/// The servers' log handler: the lines of swift-log's `StreamLogHandler`, without rendering metadata
/// that no message uses.
struct LazyMetadataLogHandlerTests {
    private final class Lines: TextOutputStream, Sendable {
        let written = Mutex<[String]>([])
        func write(_ string: String) { written.withLock { $0.append(string) } }
        /// Each line without its leading timestamp.
        var withoutTimestamps: [String] { written.withLock { $0.map { String($0.drop { $0 != " " }) } } }
    }

    private final class Record: Sendable {
        let metadataWrites = Mutex(0)
        let events = Mutex<[LogEvent]>([])
    }

    /// Counts how often its metadata is set and keeps what it is asked to log.
    private struct Recording: LogHandler {
        let record: Record
        var logLevel: Logger.Level = .info
        var metadata: Logger.Metadata = [:] { didSet { record.metadataWrites.withLock { $0 += 1 } } }

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) { record.events.withLock { $0.append(event) } }
    }

    @Test func metadataReachesTheWrappedHandlerOnlyWithAMessage() {
        let record = Record()
        var logger = Logger(label: "lazy") { _ in LazyMetadataLogHandler(Recording(record: record)) }
        for request in 0..<100 { logger[metadataKey: "hb.request.id"] = "\(request)" }
        #expect(record.metadataWrites.withLock { $0 } == 0)

        logger.info("stored", metadata: ["batch": "7"])
        logger.debug("below the level")
        let events = record.events.withLock { $0 }
        #expect(events.count == 1)
        #expect(events.first?.metadata == ["hb.request.id": "99", "batch": "7"])
    }

    @Test func writesTheLinesStreamLogHandlerWrites() {
        let provider = Logger.MetadataProvider { ["trace": "t1", "shared": "provided"] }
        let direct = Lines()
        let lazy = Lines()
        var loggers = [
            Logger(label: "analytics.ingest") { StreamLogHandler(label: $0, stream: direct, metadataProvider: provider) },
            Logger(label: "analytics.ingest") { label in
                var handler = LazyMetadataLogHandler(StreamLogHandler(label: label, stream: lazy, metadataProvider: nil))
                handler.metadataProvider = provider
                return handler
            },
        ]
        for index in loggers.indices {
            loggers[index][metadataKey: "hb.request.id"] = "42"
            loggers[index][metadataKey: "shared"] = "logger"
            loggers[index].warning("enqueue failed", metadata: ["error": "timeout"])
            loggers[index][metadataKey: "shared"] = nil
            loggers[index].error("plain")
        }
        #expect(lazy.withoutTimestamps == direct.withoutTimestamps)
        #expect(direct.withoutTimestamps.count == 2)
        #expect(direct.withoutTimestamps.first?.contains("error=timeout") == true)
    }
}
