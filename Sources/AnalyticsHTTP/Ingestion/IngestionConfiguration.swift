/// Limits and behaviour of the ingestion API.
public struct IngestionConfiguration: Sendable {
    /// Largest body `POST /event` reads; larger ones get 413 before they are read in full.
    public var maximumEventBytes = 32 * 1024
    /// Largest body `POST /events` reads.
    public var maximumBatchBytes = 512 * 1024
    /// Above this backlog (ready + pending + delayed), ingestion answers 503; nil for no limit.
    public var maximumQueueDepth: Int? = 1_000_000
    /// `Retry-After` seconds when the queue is full.
    public var retryAfterWhenFull = 5
    /// `Retry-After` seconds when the queue is unreachable.
    public var retryAfterWhenUnavailable = 1
    /// The `Access-Control-Allow-Origin` answered to browsers; nil turns CORS off.
    public var allowedOrigin: String? = "*"
    /// Token buckets per site and per client address; none by default (and for `serve --in-memory`).
    public var rateLimits = RateLimits.off

    public init() {}
}
