import AnalyticsCore
import AnalyticsSpec
import Hummingbird
import JSONSchemaValidation

/// `GET /stats`, `/stats/timeseries` and `/stats/breakdown`: check the token (when `access` is set), parse
/// and validate the query against the contract, check that the token reads its site, answer from the store.
struct ReportingRoutes: Sendable {
    let store: any EventStore
    let contract: Contract
    let retryAfter: Int
    let access: ReportingAccess?

    func register(on router: Router<some RequestContext>, methods: PathMethods) {
        route("/stats", on: router, methods: methods, parse: StatsQuery.parse, site: \.siteID) { try await store.stats($0).json }
        route("/stats/timeseries", on: router, methods: methods, parse: TimeseriesQuery.parse, site: \.siteID) {
            try await store.timeseries($0).json
        }
        route("/stats/breakdown", on: router, methods: methods, parse: BreakdownQuery.parse, site: \.siteID) {
            try await store.breakdown($0).json
        }
    }

    private func route<Query: Sendable>(
        _ path: String, on router: Router<some RequestContext>, methods: PathMethods,
        parse: @escaping @Sendable ([(name: String, value: String)], Contract) -> Result<Query, ContractViolation>,
        site: KeyPath<Query, String> & Sendable,
        answer: @escaping @Sendable (Query) async throws -> JSONValue
    ) {
        let contract = self.contract
        let retryAfter = self.retryAfter
        let access = self.access
        router.get(RouterPath(path)) { request, context in
            // Who asks comes first: without a token, nothing about the query is answered, its errors included.
            let reader = try access?.reader(of: request)
            let parameters = QueryString.parameters(request.uri.query.map { Substring($0) })
            let query: Query
            switch parse(parameters, contract) {
            case .success(let parsed): query = parsed
            case .failure(let violation): throw APIError(.badRequest, violation)
            }
            if let access, let reader { try access.authorize(reader, site: query[keyPath: site]) }
            do {
                return JSONBody.response(try await answer(query))
            } catch let failure as StoreFailure {
                context.logger.warning("reporting query failed", metadata: ["path": "\(path)", "error": "\(failure)"])
                throw APIError.unavailable("store unavailable", retryAfter: retryAfter)
            }
        }
        router.rejectOtherMethods(path, allowing: [.get], in: methods)
    }
}
