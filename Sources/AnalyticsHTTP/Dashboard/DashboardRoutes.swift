import AnalyticsSpec
import Hummingbird

/// The dashboard (docs/dashboard.md): `GET /` and `GET /sites/SITE` answer the same page, whose scripts
/// read the URL and fetch the data with the tab's read token; `GET /assets/NAME` serves its files by hashed
/// name. None of it needs a token: the page holds no data.
struct DashboardRoutes: Sendable {
    let assets: DashboardAssets
    /// Whether reporting needs a read token (`REPORTING_AUTH=required`): the page then asks for one.
    let authRequired: Bool

    func register(on router: Router<some RequestContext>, methods: PathMethods) {
        let assets = self.assets
        let page = assets.page(authRequired: authRequired)
        router.get("/") { request, _ in page.response(to: request) }
        router.rejectOtherMethods("/", allowing: [.get], in: methods)
        router.get("/sites/:site") { request, context in
            // The page for any site id (whether the token reads it is the data requests' answer), and a
            // 404 for what cannot be one. The router hands parameters over undecoded: `shop%3Aeu` is `shop:eu`
            // (a stray `%` stays, and is no site id).
            guard let raw = context.parameters.get("site"), case let site = QueryString.decode(Substring(raw), plusIsSpace: false), FastEventReader.isSiteID(site) else {
                throw APIError(.notFound, "no such page: not a site id")
            }
            return page.response(to: request)
        }
        router.rejectOtherMethods("/sites/:site", allowing: [.get], in: methods)
        router.get("/assets/:name") { request, context in
            guard let name = context.parameters.get("name"), let file = assets.files[name] else {
                throw APIError(.notFound, "no such asset")
            }
            return file.response(to: request)
        }
        router.rejectOtherMethods("/assets/:name", allowing: [.get], in: methods)
    }
}
