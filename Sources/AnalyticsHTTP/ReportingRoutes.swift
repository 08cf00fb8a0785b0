import AnalyticsCore
import AnalyticsSpec
import Hummingbird

/// `GET /stats`: parse and validate the query against the contract, answer from the store.
struct ReportingRoutes: Sendable {
    let store: any EventStore
    let contract: Contract
    let retryAfter: Int

    func register(on router: Router<some RequestContext>, methods: PathMethods) {
        router.get("/stats") { request, context in
            let parameters = request.uri.queryParameters.map { (name: String($0.key), value: String($0.value)) }
            let query: StatsQuery
            switch StatsQuery.parse(parameters, contract: contract) {
            case .success(let parsed): query = parsed
            case .failure(let violation): throw APIError(.badRequest, violation)
            }
            do {
                return JSONBody.response(try await store.stats(query).json)
            } catch let failure as StoreFailure {
                context.logger.warning("stats failed", metadata: ["error": "\(failure)"])
                throw APIError.unavailable("store unavailable", retryAfter: retryAfter)
            }
        }
        router.rejectOtherMethods("/stats", allowing: [.get], in: methods)
    }
}
