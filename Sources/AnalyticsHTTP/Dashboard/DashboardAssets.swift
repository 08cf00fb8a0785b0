import Hummingbird
import Mustache

/// The dashboard's files, embedded in the binary, each served under a name that holds a hash of its
/// content (`app.3f9c….js`), so that browsers may keep them for a year and still never run a stale one.
/// A module's imports are rewritten to the hashed names of what it imports before it is hashed itself, so a
/// change anywhere renames every module that leads to it. The page is rendered once, from index.html (a
/// Mustache template), with the hashed names of the entry module, every module (preloaded: the browser
/// fetches them at once, not one import at a time), the style sheet and the icon.
struct DashboardAssets: Sendable {
    /// The files by hashed name.
    let files: [String: StaticFile]
    /// The HTML every page of the dashboard is, where reporting needs a read token (a sign-in first) and
    /// where it does not: the page knows which without a request that would fail.
    let signInPage: StaticFile
    let openPage: StaticFile
    /// The hashed name of each source file, by its own name (`app.js`).
    let names: [String: String]

    /// The source files: ES modules (app.js is the entry), the style sheet and the icon.
    static let sources: [(name: String, bytes: [UInt8])] = [
        ("app.js", PackageResources.app_js), ("api.js", PackageResources.api_js), ("chart.js", PackageResources.chart_js),
        ("format.js", PackageResources.format_js), ("ranges.js", PackageResources.ranges_js), ("tables.js", PackageResources.tables_js),
        ("dashboard.css", PackageResources.dashboard_css), ("icon.svg", PackageResources.icon_svg),
    ]

    /// A year, and never revalidated: the name changes with the content.
    static let immutable = "public, max-age=31536000, immutable"

    /// The policy every page carries: scripts, styles, images and requests from this origin only; no inline
    /// script or style, no plugins, no framing, no base or form targets elsewhere.
    static let contentSecurityPolicy = [
        "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self'", "connect-src 'self'", "font-src 'none'",
        "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    static let shared: DashboardAssets = {
        do {
            return try DashboardAssets(sources: sources, template: PackageResources.index_html)
        } catch {
            fatalError("the dashboard's embedded files do not build: \(error)")
        }
    }()

    enum BuildError: Error { case importCycle([String]), template(String) }

    init(sources: [(name: String, bytes: [UInt8])], template: [UInt8]) throws {
        var texts: [String: String] = [:]
        for source in sources { texts[source.name] = String(decoding: source.bytes, as: UTF8.self) }
        var names: [String: String] = [:]
        var finals: [String: [UInt8]] = [:]
        // Leaves first: a module is named once everything it imports has its name.
        while names.count < texts.count {
            let before = names.count
            for (name, text) in texts.sorted(by: { $0.key < $1.key }) where names[name] == nil {
                let imports = texts.keys.filter { $0 != name && text.contains("\"./\($0)\"") }
                guard imports.allSatisfy({ names[$0] != nil }) else { continue }
                var rewritten = text
                for imported in imports { rewritten = rewritten.replacingOccurrences(of: "\"./\(imported)\"", with: "\"./\(names[imported]!)\"") }
                let bytes = Array(rewritten.utf8)
                let dot = name.lastIndex(of: ".")!
                names[name] = "\(name[..<dot]).\(StaticFile.hexDigest(bytes, bytes: 8))\(name[dot...])"
                finals[name] = bytes
            }
            if names.count == before { throw BuildError.importCycle(texts.keys.filter { names[$0] == nil }.sorted()) }
        }
        var files: [String: StaticFile] = [:]
        for (name, bytes) in finals {
            files[names[name]!] = StaticFile(bytes: bytes, contentType: Self.contentType(of: name), cacheControl: Self.immutable)
        }
        self.files = files
        self.names = names

        let parsed: MustacheTemplate
        do {
            parsed = try MustacheTemplate(string: String(decoding: template, as: UTF8.self))
        } catch {
            throw BuildError.template("\(error)")
        }
        let modules = sources.map(\.name).filter { $0.hasSuffix(".js") }.map { "/assets/" + names[$0]! }
        func page(auth: String) -> StaticFile {
            let html = parsed.render([
                "entry": "/assets/" + names["app.js"]!, "modules": modules, "auth": auth,
                "stylesheet": "/assets/" + names["dashboard.css"]!, "icon": "/assets/" + names["icon.svg"]!,
            ] as [String: Any])
            return StaticFile(
                bytes: Array(html.utf8), contentType: "text/html; charset=utf-8", cacheControl: "no-cache",
                headers: [.contentSecurityPolicy: Self.contentSecurityPolicy, .init("Referrer-Policy")!: "no-referrer"])
        }
        signInPage = page(auth: "required")
        openPage = page(auth: "off")
    }

    func page(authRequired: Bool) -> StaticFile { authRequired ? signInPage : openPage }

    static func contentType(of name: String) -> String {
        if name.hasSuffix(".js") { return "text/javascript; charset=utf-8" }
        if name.hasSuffix(".css") { return "text/css; charset=utf-8" }
        return "image/svg+xml"
    }
}
