import Hummingbird
import Metrics
import Synchronization

/// Counts every answer by route pattern, method and status, and times it by route pattern and method,
/// except the answers that no route gave (404 for an unknown path, 405 for a method the route does not
/// take), which are counted only: timing those would add a histogram per route and method a client makes up.
///
/// Hummingbird's own `MetricsMiddleware` labels a request by the method it sends, so a client sending
/// made-up methods would add series (and memory) without end; and it records into the global factory
/// only. Here, methods outside HTTP's usual ones count as `other`, unmatched paths as `unmatched`, so
/// the series are bounded by the routes, nine methods and the statuses the server answers with.
struct HTTPMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let instruments: HTTPInstruments

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            instruments.record(route: context.endpointPath, method: request.method, status: response.status.code, since: start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            instruments.record(route: context.endpointPath, method: request.method, status: status, since: start)
            throw error
        }
    }
}

/// The counters and timers of `HTTPMetricsMiddleware`, made once per label set.
final class HTTPInstruments: Sendable {
    private struct Key: Hashable {
        let route: String
        let method: String
        let status: Int
    }

    private struct TimerKey: Hashable {
        let route: String
        let method: String
    }

    private let factory: any MetricsFactory
    private let counters = Mutex<[Key: Counter]>([:])
    private let timers = Mutex<[TimerKey: Timer]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
    }

    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"]

    func record(route: String?, method: HTTPRequest.Method, status: Int, since start: ContinuousClock.Instant) {
        let elapsed = start.duration(to: .now)
        let route = route.flatMap { $0.hasPrefix("/") ? $0 : nil } ?? "unmatched"
        let method = Self.methods.contains(method.rawValue) ? method.rawValue : "other"
        let key = Key(route: route, method: method, status: status)
        let counter = counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(
                label: "analytics_http_requests_total", dimensions: [("route", route), ("method", method), ("status", String(status))],
                factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
        if status == 404 || status == 405 { return }
        let timerKey = TimerKey(route: route, method: method)
        let timer = timers.withLock { timers in
            if let timer = timers[timerKey] { return timer }
            let timer = Timer(label: "analytics_http_request_duration_seconds", dimensions: [("route", route), ("method", method)], factory: factory)
            timers[timerKey] = timer
            return timer
        }
        timer.record(duration: elapsed)
    }
}
