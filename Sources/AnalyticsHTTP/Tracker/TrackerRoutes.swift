import AnalyticsCore
import AnalyticsSpec
import Hummingbird
import NIOCore

/// The script tag: `GET /script.js` (the tracker, docs/tracker.md) and `POST /collect` (its hits). A hit
/// becomes an event with the server's time, a new id and the visitor's daily keyed hash as `user_id`;
/// a 200 means it is durably queued, as for `POST /event`.
struct TrackerRoutes: Sendable {
    let decoder: TrackerHitDecoder
    let clock: any WallClock
    let intake: EventIntake
    let access: IngestionAccess?
    let visitors: VisitorKeys
    /// `/script.js`: the tracker's source, embedded in the binary (a single file to deploy), with an hour's
    /// `Cache-Control`, so that an upgrade reaches browsers within the hour.
    let script: StaticFile
    private let corsHeaders: HTTPFields

    private static let accepted = ByteBuffer(string: #"{"status":"ok"}"#)
    /// A visitor id of the real ones' shape, for checking the event before its visitor is known.
    private static let placeholderVisitor = "v" + String(repeating: "0", count: 32)

    init(decoder: TrackerHitDecoder, clock: any WallClock, intake: EventIntake, access: IngestionAccess?, visitors: VisitorKeys) {
        self.decoder = decoder
        self.clock = clock
        self.intake = intake
        self.access = access
        self.visitors = visitors
        script = StaticFile(
            bytes: PackageResources.script_js, contentType: "text/javascript; charset=utf-8", cacheControl: "public, max-age=3600",
            headers: [.accessControlAllowOrigin: "*"])
        corsHeaders = intake.configuration.allowedOrigin.map { [.accessControlAllowOrigin: $0] } ?? [:]
    }

    func register(on router: Router<some RemoteAddressRequestContext>, methods: PathMethods) {
        router.get("/script.js") { request, _ in script.response(to: request) }
        router.rejectOtherMethods("/script.js", allowing: [.get], in: methods)
        router.post("/collect") { request, context in try await collect(request, context: context) }
        let preflight = intake.configuration.allowedOrigin != nil
        if preflight {
            router.on("/collect", method: .options) { request, _ in
                Preflight.response(request, access: access, fallback: corsHeaders, allowHeaders: "Content-Type")
            }
        }
        router.rejectOtherMethods("/collect", allowing: preflight ? [.post, .options] : [.post], in: methods)
    }

    private func collect(_ request: Request, context: some RemoteAddressRequestContext) async throws -> Response {
        let snapshot = access?.view.snapshot
        let headers = access?.corsHeaders(for: request, fallback: corsHeaders, snapshot: snapshot) ?? corsHeaders
        let contentType = request.headers.value(of: .contentType)
        guard JSONBody.isJSON(contentType) || JSONBody.isPlainText(contentType) else {
            throw APIError(.unsupportedMediaType, "Content-Type must be text/plain or application/json", headers: headers)
        }
        let limit = TrackerHitDecoder.maximumBytes
        let body = try await RequestBody.collect(
            request, upTo: limit, tooLarge: APIError(.contentTooLarge, "body is larger than \(limit / 1024) KiB", headers: headers))
        let hit: TrackerHit
        switch body.withUnsafeReadableBytes({ decoder.decode($0.bindMemory(to: UInt8.self)) }) {
        case .success(let decoded): hit = decoded
        case .failure(let violation):
            throw APIError(.badRequest, violation.summary, details: violation.details, omitted: violation.omitted, headers: headers)
        }
        let now = clock.now
        var generator = BufferedSystemRandom()
        let id = EventID.version7(unixMilliseconds: clock.unixMilliseconds, using: &generator)
        // The event is checked, and its site's rules applied, before the visitor key is read: a bad or
        // refused hit costs no round trip to Redis and gets its own answer even while Redis is away.
        var event: Event
        switch decoder.event(of: hit, visitor: Self.placeholderVisitor, timestamp: now, id: id) {
        case .success(let made): event = made
        case .failure(let violation):
            throw APIError(.badRequest, violation.summary, details: violation.details, omitted: violation.omitted, headers: headers)
        }
        try access?.check([event], request: request, inBatch: false, headers: headers, snapshot: snapshot)
        let address = intake.configuration.rateLimits.clients.client(
            peer: context.remoteAddress?.ipAddress.flatMap(IPAddress.init), forwardedFor: request.headers.value(of: .xForwardedFor))
        do {
            event.userID = try await visitors.visitor(
                day: Event.utcDate(of: now), site: hit.siteID, address: address?.bytes ?? [], userAgent: request.headers.value(of: .userAgent) ?? "")
        } catch {
            context.logger.warning("visitor key unavailable", metadata: ["error": "\(error)"])
            throw APIError.unavailable("queue unavailable", retryAfter: intake.configuration.retryAfterWhenUnavailable, headers: headers)
        }
        try await intake.enqueue([event], request: request, context: context, keyVerified: false, snapshot: snapshot, headers: headers)
        return JSONBody.response(Self.accepted, headers: headers)
    }
}
