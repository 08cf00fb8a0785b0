import AnalyticsCore
import AnalyticsSpec
import Hummingbird

/// `GET /sites`: the sites the caller may read, which the dashboard lists. With access control, the read
/// token's sites (its public id and name beside them, never the secret); without, every site the store
/// holds events for.
struct SitesRoute: Sendable {
    let store: any EventStore
    let retryAfter: Int
    let access: ReportingAccess?

    func register(on router: Router<some RequestContext>, methods: PathMethods) {
        let store = self.store
        let retryAfter = self.retryAfter
        let access = self.access
        router.get("/sites") { request, context in
            if let access {
                let token = try access.reader(of: request)
                return JSONBody.response(SitesResponse(sites: token.sites, token: .init(id: token.id, name: token.name)).json)
            }
            do {
                return JSONBody.response(SitesResponse(sites: try await store.sites(), token: nil).json)
            } catch let failure as StoreFailure {
                context.logger.warning("listing sites failed", metadata: ["error": "\(failure)"])
                throw APIError.unavailable("store unavailable", retryAfter: retryAfter)
            }
        }
        router.rejectOtherMethods("/sites", allowing: [.get], in: methods)
    }
}
