import Hummingbird
import Synchronization

/// The methods each path takes, so that every other method, whatever it is, is answered 405 with `Allow`.
///
/// The router routes by method, and a method it has no route for on a path (TRACE, or an extension
/// method such as QUERY) would fall through to its 404. `rejectOtherMethods` routes the usual methods to a
/// 405 and records the path here, where `ErrorBodyMiddleware` finds it for the rest.
final class PathMethods: Sendable {
    private let table = Mutex<[String: [HTTPRequest.Method]]>([:])

    /// What `Allow` lists for `path`, or nil for a path not served.
    func allowed(on path: String) -> [HTTPRequest.Method]? {
        // The router ignores empty segments (`/stats/` and `//stats` are `/stats`); so does this look-up.
        let normalized = "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
        return table.withLock { table in
            if let exact = table[normalized] { return exact }
            // A pattern's `:name` segment takes any one segment.
            let segments = normalized.split(separator: "/")
            return table.first { pattern, _ in
                let parts = pattern.split(separator: "/")
                return parts.count == segments.count && zip(parts, segments).allSatisfy { $0.hasPrefix(":") || $0 == $1 }
            }?.value
        }
    }

    fileprivate func record(_ path: String, allowing methods: [HTTPRequest.Method]) {
        table.withLock { $0[path] = methods }
    }
}

extension RouterMethods {
    /// Answers 405 with `Allow` for every method `path` does not take: the usual ones by a route each, and
    /// any other by `ErrorBodyMiddleware` from `methods`.
    @discardableResult
    func rejectOtherMethods(_ path: String, allowing allowed: [HTTPRequest.Method], in methods: PathMethods) -> Self {
        var allow = allowed
        if allowed.contains(.get), !allowed.contains(.head) { allow.append(.head) }
        methods.record(path, allowing: allow)
        let error = APIError.methodNotAllowed(allow: allow)
        for method in [HTTPRequest.Method.get, .head, .post, .put, .patch, .delete, .options, .trace] where !allow.contains(method) {
            on(RouterPath(path), method: method) { _, _ -> Response in throw error }
        }
        return self
    }
}
