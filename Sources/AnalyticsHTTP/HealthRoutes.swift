import Hummingbird
import JSONSchemaValidation

/// `GET /healthz` (the process is up) and `GET /readyz` (the backends it uses answer).
struct HealthRoutes: Sendable {
    /// A backend by name, and how to check it; a check that throws or takes longer than `timeout` fails.
    let checks: [(name: String, check: @Sendable () async throws -> Void)]
    let timeout: Duration

    func register(on router: Router<some RequestContext>) {
        router.get("/healthz") { _, _ in JSONBody.response(["status": "ok"]) }
        router.get("/readyz") { _, _ in
            var results: [(key: String, value: JSONValue)] = []
            var ready = true
            for (name, check) in checks {
                let outcome = await Self.run(check, timeout: timeout)
                if outcome != "ok" { ready = false }
                results.append((name, .string(outcome)))
            }
            return JSONBody.response(
                ["status": .string(ready ? "ready" : "unavailable"), "checks": .object(JSONObject(results))],
                status: ready ? .ok : .serviceUnavailable
            )
        }
        router.rejectOtherMethods("/healthz", allowing: [.get])
        router.rejectOtherMethods("/readyz", allowing: [.get])
    }

    private static func run(_ check: @escaping @Sendable () async throws -> Void, timeout: Duration) async -> String {
        await withTaskGroup(of: String?.self) { group in
            group.addTask {
                do {
                    try await check()
                    return "ok"
                } catch {
                    return "\(error)"
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return Task.isCancelled ? nil : "no answer within \(timeout)"
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first ?? "cancelled"
        }
    }
}
