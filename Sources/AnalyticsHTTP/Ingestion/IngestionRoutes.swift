import AnalyticsCore
import AnalyticsSpec
import Hummingbird
import NIOCore

/// `POST /event` and `POST /events`: validate against the contract, assign missing IDs, and answer
/// 200 only once the queue holds the events durably.
struct IngestionRoutes: Sendable {
    let queue: any EventQueue
    let clock: any WallClock
    let decoder: EventDecoder
    let configuration: IngestionConfiguration
    let intake: EventIntake
    let access: IngestionAccess?
    /// Sent with every answer, errors included, when a browser origin is allowed; `access` may name the
    /// request's origin instead.
    private let corsHeaders: HTTPFields
    /// The headers of a single event's `200`, built once.
    private let acceptedHeaders: HTTPFields

    private static let accepted = ByteBuffer(string: #"{"status":"ok"}"#)

    init(queue: any EventQueue, clock: any WallClock, decoder: EventDecoder, configuration: IngestionConfiguration, access: IngestionAccess? = nil) {
        self.access = access
        self.queue = queue
        self.clock = clock
        self.decoder = decoder
        self.configuration = configuration
        self.intake = EventIntake(queue: queue, clock: clock, configuration: configuration)
        corsHeaders = configuration.allowedOrigin.map { [.accessControlAllowOrigin: $0] } ?? [:]
        acceptedHeaders = JSONBody.response(Self.accepted, headers: corsHeaders).headers
    }

    func register(on router: Router<some RemoteAddressRequestContext>, methods: PathMethods) {
        router.post("/event") { request, context in
            try await ingest(request, context: context, limit: configuration.maximumEventBytes) { body in
                decoder.decodeEvent(body, newID: newID).map { [$0] }
            }
        }
        router.post("/events") { request, context in
            try await ingest(request, context: context, limit: configuration.maximumBatchBytes) { body in
                decoder.decodeBatch(body, newID: newID)
            }
        }
        if configuration.allowedOrigin != nil {
            router.on("/event", method: .options) { request, _ in preflight(request) }
            router.on("/events", method: .options) { request, _ in preflight(request) }
        }
        router.rejectOtherMethods("/event", allowing: allowedMethods, in: methods)
        router.rejectOtherMethods("/events", allowing: allowedMethods, in: methods)
    }

    private var allowedMethods: [HTTPRequest.Method] {
        configuration.allowedOrigin == nil ? [.post] : [.post, .options]
    }

    private func newID() -> EventID {
        var generator = BufferedSystemRandom()
        return EventID.version7(unixMilliseconds: clock.unixMilliseconds, using: &generator)
    }

    private func preflight(_ request: Request) -> Response {
        Preflight.response(request, access: access, fallback: corsHeaders, allowHeaders: "Content-Type, Authorization")
    }

    private func ingest(
        _ request: Request, context: some RemoteAddressRequestContext, limit: Int,
        decode: (UnsafeBufferPointer<UInt8>) -> Result<[Event], ContractViolation>
    ) async throws -> Response {
        // One snapshot for the whole request: its CORS answer, its checks and its limits agree.
        let snapshot = access?.view.snapshot
        let namedOrigin = access?.corsHeaders(for: request, fallback: self.corsHeaders, snapshot: snapshot)
        let corsHeaders = namedOrigin ?? self.corsHeaders
        guard JSONBody.isJSON(request.headers.value(of: .contentType)) else {
            throw APIError(.unsupportedMediaType, "Content-Type must be application/json", headers: corsHeaders)
        }
        let body = try await RequestBody.collect(request, upTo: limit, tooLarge: tooLarge(limit, corsHeaders))
        let decoded = body.withUnsafeReadableBytes { raw in decode(raw.bindMemory(to: UInt8.self)) }
        let events: [Event]
        switch decoded {
        case .success(let valid): events = valid
        case .failure(let violation):
            throw APIError(.badRequest, violation.summary, details: violation.details, omitted: violation.omitted, headers: corsHeaders)
        }
        let keyVerified = try access?.check(events, request: request, inBatch: request.uri.path == "/events", headers: corsHeaders, snapshot: snapshot) ?? false
        try await intake.enqueue(events, request: request, context: context, keyVerified: keyVerified, snapshot: snapshot, headers: corsHeaders)
        if events.count == 1, request.uri.path == "/event" {
            let headers = namedOrigin == nil ? acceptedHeaders : JSONBody.response(Self.accepted, headers: corsHeaders).headers
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: Self.accepted))
        }
        return JSONBody.response(["status": "ok", "accepted": .number(Double(events.count))], headers: corsHeaders)
    }

    private func tooLarge(_ limit: Int, _ corsHeaders: HTTPFields) -> APIError {
        APIError(.contentTooLarge, "body is larger than \(limit / 1024) KiB", headers: corsHeaders)
    }

}
