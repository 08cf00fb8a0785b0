import AnalyticsCore
import AnalyticsSpec
import Hummingbird

/// The last steps of every ingestion endpoint, ours and Segment's: the queue's admission, the rate limits
/// and the durable enqueue. A return means the events are in the queue.
struct EventIntake: Sendable {
    let queue: any EventQueue
    let configuration: IngestionConfiguration
    let admission: QueueAdmission

    init(queue: any EventQueue, clock: any WallClock, configuration: IngestionConfiguration) {
        self.queue = queue
        self.configuration = configuration
        admission = QueueAdmission(queue: queue, clock: clock, maximumDepth: configuration.maximumQueueDepth)
    }

    /// Queues `events` or throws the answer that refuses them: 503 while the queue is full or unreachable,
    /// 429 over a rate limit. `keyVerified` spares the request its client address's bucket; `snapshot` is
    /// the registry the request was checked against.
    func enqueue(
        _ events: [Event], request: Request, context: some RemoteAddressRequestContext, keyVerified: Bool,
        snapshot: RegistrySnapshot?, headers: HTTPFields
    ) async throws {
        guard await admission.admits() else {
            throw APIError.unavailable("queue is full", retryAfter: configuration.retryAfterWhenFull, headers: headers)
        }
        let limits = configuration.rateLimits
        let own = snapshot.flatMap { $0.hasRateLimits ? $0 : nil }
        let draws = limits.site == nil && limits.address == nil && own == nil ? [] : limits.draws(
            for: events,
            addressBucket: limits.address == nil || keyVerified ? nil : limits.clients.addressBucket(
                peer: context.remoteAddress, forwardedFor: request.headers.value(of: .xForwardedFor)),
            snapshot: own)
        do {
            if draws.isEmpty {
                try await queue.enqueue(events)
            } else if case .refused(let index, let wait) = try await queue.enqueue(events, drawing: draws) {
                throw RateLimits.refusal(draws, index: index, retryAfter: wait, headers: headers)
            }
        } catch let refusal as APIError {
            throw refusal
        } catch {
            context.logger.warning("enqueue failed", metadata: ["error": "\(error)"])
            throw APIError.unavailable("queue unavailable", retryAfter: configuration.retryAfterWhenUnavailable, headers: headers)
        }
    }
}
