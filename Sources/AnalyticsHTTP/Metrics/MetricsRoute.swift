import Hummingbird
import NIOCore

/// `GET /metrics`: the process's metrics in Prometheus's text format; with `METRICS_TOKEN` set, only for
/// a scrape that presents it as `Authorization: Bearer TOKEN`.
struct MetricsRoute: Sendable {
    let exporter: PrometheusExporter

    private static let challenge: HTTPFields = [.wwwAuthenticate: #"Bearer realm="metrics""#]
    private static let invalid: HTTPFields = [.wwwAuthenticate: #"Bearer realm="metrics", error="invalid_token""#]

    func register(on router: Router<some RequestContext>, methods: PathMethods) {
        router.get("/metrics") { request, _ in
            let credentials = AuthorizationHeader(request.headers)
            guard exporter.authorizes(credentials) else {
                if credentials == nil {
                    throw APIError(.unauthorized, "the metrics need a token: send Authorization: Bearer TOKEN", headers: Self.challenge)
                }
                throw APIError(.unauthorized, "send the metrics token (METRICS_TOKEN) as Authorization: Bearer TOKEN", headers: Self.invalid)
            }
            let text = await exporter.scrape()
            return Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        router.rejectOtherMethods("/metrics", allowing: [.get], in: methods)
    }
}
