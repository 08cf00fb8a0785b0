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
            // 404 for what cannot be one.
            guard let raw = context.parameters.get("site"), let site = Self.percentDecoded(raw), FastEventReader.isSiteID(site) else {
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

    /// `shop%3Aeu` as `shop:eu`: the router hands path parameters over as they were sent. Nil when a `%`
    /// is not followed by two hex digits or the bytes are not UTF-8.
    static func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else { return nil }
            bytes.append(high << 4 | low)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
