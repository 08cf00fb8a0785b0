import Logging

/// Keeps a logger's metadata and hands it to `wrapped` only with each message written. swift-log's
/// `StreamLogHandler` renders its metadata to text whenever it is set, and Hummingbird sets a request
/// ID on the logger of every request, so that rendering cost each request about 2% of a server's CPU,
/// even though nearly none of them logs anything.
struct LazyMetadataLogHandler<Wrapped: LogHandler>: LogHandler {
    private var wrapped: Wrapped
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(_ wrapped: Wrapped) {
        self.wrapped = wrapped
    }

    var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// Passes the metadata on as the message's own, merged as `StreamLogHandler` would: the logger's,
    /// then the provider's, then the message's.
    func log(event: LogEvent) {
        var event = event
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty { merged.merge(provided) { $1 } }
        if let explicit = event.metadata { merged.merge(explicit) { $1 } }
        event.metadata = merged
        wrapped.log(event: event)
    }
}
