import Hummingbird
import JSONSchemaValidation

/// `GET /healthz` (the process is up) and `GET /readyz` (the backends it uses answer).
///
/// `/readyz` says which check failed and how (`unreachable`, or `timeout` when it did not answer in time),
/// not why: a backend's error names hosts, users and ports, which are no business of whoever can reach
/// the port. The why goes to the log.
struct HealthRoutes: Sendable {
    private let probes: [(name: String, probe: ReadinessProbe)]

    /// - Parameter checks: a backend by name, and how to check it; a check that throws or takes longer
    ///   than `timeout` fails.
    init(checks: [(name: String, check: @Sendable () async throws -> Void)], timeout: Duration) {
        probes = checks.map { (name: $0.name, probe: ReadinessProbe(timeout: timeout, check: $0.check)) }
    }

    func register(on router: Router<some RequestContext>, methods: PathMethods) {
        router.get("/healthz") { _, _ in JSONBody.response(["status": "ok"]) }
        router.get("/readyz") { _, context in
            let outcomes = await withTaskGroup(of: (Int, ReadinessProbe.Outcome).self) { group in
                for (index, entry) in probes.enumerated() {
                    group.addTask { (index, await entry.probe.outcome()) }
                }
                var outcomes = [ReadinessProbe.Outcome](repeating: .timedOut, count: probes.count)
                for await (index, outcome) in group { outcomes[index] = outcome }
                return outcomes
            }
            var results: [(key: String, value: JSONValue)] = []
            var ready = true
            for ((name, probe), outcome) in zip(probes, outcomes) {
                switch outcome {
                case .ok:
                    results.append((name, .string("ok")))
                case .failed(let error):
                    ready = false
                    context.logger.warning("readiness check failed", metadata: ["check": "\(name)", "error": "\(error)"])
                    results.append((name, .string("unreachable")))
                case .timedOut:
                    ready = false
                    context.logger.warning(
                        "readiness check did not answer in time", metadata: ["check": "\(name)", "timeout": "\(probe.timeout)"])
                    results.append((name, .string("timeout")))
                }
            }
            return JSONBody.response(
                ["status": .string(ready ? "ready" : "unavailable"), "checks": .object(JSONObject(results))],
                status: ready ? .ok : .serviceUnavailable
            )
        }
        router.rejectOtherMethods("/healthz", allowing: [.get], in: methods)
        router.rejectOtherMethods("/readyz", allowing: [.get], in: methods)
    }
}
