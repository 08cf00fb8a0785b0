import AnalyticsCore
import AnalyticsSpec
import CompressNIO
import Hummingbird
import Metrics
import NIOCore

/// Segment's HTTP Tracking API on the ingestion port (`POST /v1/track`, `/v1/page`, `/v1/screen`,
/// `/v1/identify`, `/v1/group`, `/v1/alias`, `/v1/batch`, `/v1/import`), so that Segment's and
/// RudderStack's libraries send here unchanged. The write key names the site; track, page and screen
/// messages become events (docs/segment.md), identify, group and alias are counted. A 200 means every
/// event of the request is durably queued, as for `POST /events`.
struct SegmentRoutes: Sendable {
    let decoder: SegmentDecoder
    let clock: any WallClock
    let intake: EventIntake
    let access: IngestionAccess?
    let allowedOrigin: String?
    private let corsHeaders: HTTPFields
    private let counters: [SegmentMessageType: Counter]

    private static let success = ByteBuffer(string: #"{"success":true}"#)
    static let paths: [(String, SegmentDecoder.Body)] =
        SegmentMessageType.allCases.map { ("/v1/\($0.rawValue)", .message($0)) } + [("/v1/batch", .batch), ("/v1/import", .batch)]

    init(decoder: SegmentDecoder, clock: any WallClock, intake: EventIntake, access: IngestionAccess?, metrics: any MetricsFactory) {
        self.decoder = decoder
        self.clock = clock
        self.intake = intake
        self.access = access
        allowedOrigin = intake.configuration.allowedOrigin
        corsHeaders = allowedOrigin.map { [.accessControlAllowOrigin: $0] } ?? [:]
        counters = Dictionary(uniqueKeysWithValues: SegmentMessageType.allCases.map { type in
            (type, Counter(label: "analytics_segment_messages_total", dimensions: [("type", type.rawValue)], factory: metrics))
        })
    }

    func register(on router: Router<some RemoteAddressRequestContext>, methods: PathMethods) {
        for (path, kind) in Self.paths {
            router.post(RouterPath(path)) { request, context in try await receive(request, context: context, as: kind) }
            if allowedOrigin != nil {
                router.on(RouterPath(path), method: .options) { request, _ in preflight(request) }
            }
            router.rejectOtherMethods(path, allowing: allowedOrigin == nil ? [.post] : [.post, .options], in: methods)
        }
    }

    private func preflight(_ request: Request) -> Response {
        Preflight.response(request, access: access, fallback: corsHeaders, allowHeaders: "Content-Type, Content-Encoding, Authorization")
    }

    private func receive(_ request: Request, context: some RemoteAddressRequestContext, as kind: SegmentDecoder.Body) async throws -> Response {
        let snapshot = access?.view.snapshot
        let headers = access?.corsHeaders(for: request, fallback: corsHeaders, snapshot: snapshot) ?? corsHeaders
        let body = try await SegmentBody.read(request, limit: kind == .batch ? SegmentDecoder.maximumBatchBytes : SegmentDecoder.maximumMessageBytes, headers: headers)
        let receivedAt = clock.now
        let parsed: SegmentDecoder.Request
        switch body.withUnsafeReadableBytes({ raw in decoder.parse(raw.bindMemory(to: UInt8.self), as: kind) }) {
        case .success(let request): parsed = request
        case .failure(let violation):
            throw APIError(.badRequest, violation.summary, details: violation.details, omitted: violation.omitted, headers: headers)
        }
        let (site, keyDigest) = try SegmentWriteKey.site(
            of: request, bodyKey: parsed.writeKey, snapshot: snapshot, registryExpected: access != nil,
            retryAfter: intake.configuration.retryAfterWhenUnavailable, headers: headers)
        try access?.check(site: site, writeKey: keyDigest, request: request, headers: headers, snapshot: snapshot)
        let mapped: SegmentDecoder.Mapped
        switch decoder.events(of: parsed, site: site, receivedAt: receivedAt, newID: newID) {
        case .success(let events): mapped = events
        case .failure(let violation):
            throw APIError(.badRequest, violation.summary, details: violation.details, omitted: violation.omitted, headers: headers)
        }
        if !mapped.events.isEmpty {
            try await intake.enqueue(mapped.events, request: request, context: context, keyVerified: keyDigest != nil, snapshot: snapshot, headers: headers)
        }
        for (type, count) in mapped.counts { counters[type]?.increment(by: count) }
        var answer = headers
        answer[.contentType] = "application/json"
        return Response(status: .ok, headers: answer, body: .init(byteBuffer: Self.success))
    }

    private func newID() -> EventID {
        var generator = BufferedSystemRandom()
        return EventID.version7(unixMilliseconds: clock.unixMilliseconds, using: &generator)
    }
}
