/// RFC 3986 reference resolution, enough for `$id` and `$ref`: absolute URIs with an authority,
/// relative paths, dot segments and fragments. No network access, no normalisation beyond that.
enum URIReference {
    /// `reference` resolved against the absolute `base`.
    static func resolve(_ reference: String, against base: String) -> String {
        if hasScheme(reference) { return removingDotSegments(inAbsolute: reference) }
        let (baseWithoutFragment, _) = splitFragment(base)
        if reference.isEmpty { return baseWithoutFragment }
        if reference.hasPrefix("#") { return baseWithoutFragment + reference }

        let (prefix, basePath, baseQuery) = splitAbsolute(baseWithoutFragment)
        if reference.hasPrefix("//") {
            let scheme = prefix.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
            return removingDotSegments(inAbsolute: scheme + ":" + reference)
        }
        let (referencePathAndQuery, fragment) = splitFragment(reference)
        var path = referencePathAndQuery
        var query = ""
        if let questionMark = path.firstIndex(of: "?") {
            query = String(path[questionMark...])
            path = String(path[..<questionMark])
        }
        let mergedPath: String
        if path.isEmpty {
            mergedPath = basePath
            if query.isEmpty { query = baseQuery }
        } else if path.hasPrefix("/") {
            mergedPath = path
        } else if let slash = basePath.lastIndex(of: "/") {
            mergedPath = String(basePath[...slash]) + path
        } else {
            mergedPath = (prefix.isEmpty ? "" : "/") + path
        }
        return prefix + removeDotSegments(mergedPath) + query + (fragment.map { "#" + $0 } ?? "")
    }

    static func splitFragment(_ uri: String) -> (String, String?) {
        guard let hash = uri.firstIndex(of: "#") else { return (uri, nil) }
        return (String(uri[..<hash]), String(uri[uri.index(after: hash)...]))
    }

    static func hasScheme(_ uri: String) -> Bool {
        guard let colon = uri.firstIndex(of: ":"), colon != uri.startIndex else { return false }
        let scheme = uri[..<colon]
        guard let first = scheme.first, first.isLetter else { return false }
        return scheme.allSatisfy { $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }
    }

    /// ("scheme://authority", "/path", "?query") of an absolute URI without fragment.
    private static func splitAbsolute(_ uri: String) -> (String, String, String) {
        var rest = Substring(uri)
        var prefix = ""
        if let colon = rest.firstIndex(of: ":") {
            prefix = String(rest[...colon])
            rest = rest[rest.index(after: colon)...]
        }
        if rest.hasPrefix("//") {
            let afterSlashes = rest.index(rest.startIndex, offsetBy: 2)
            let end = rest[afterSlashes...].firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            prefix += String(rest[..<end])
            rest = rest[end...]
        }
        if let questionMark = rest.firstIndex(of: "?") {
            return (prefix, String(rest[..<questionMark]), String(rest[questionMark...]))
        }
        return (prefix, String(rest), "")
    }

    private static func removingDotSegments(inAbsolute uri: String) -> String {
        let (withoutFragment, fragment) = splitFragment(uri)
        let (prefix, path, query) = splitAbsolute(withoutFragment)
        return prefix + removeDotSegments(path) + query + (fragment.map { "#" + $0 } ?? "")
    }

    private static func removeDotSegments(_ path: String) -> String {
        guard path.contains(".") else { return path }
        var output: [Substring] = []
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        for (offset, segment) in segments.enumerated() {
            let isLast = offset == segments.count - 1
            switch segment {
            case ".":
                if isLast { output.append("") }
            case "..":
                if output.count > 1 { output.removeLast() }
                if isLast { output.append("") }
            default:
                output.append(segment)
            }
        }
        return output.joined(separator: "/")
    }

    /// Decodes `%XX` escapes in a URI fragment.
    static func percentDecoded(_ text: String) -> String {
        guard text.contains("%") else { return text }
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
                let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16)
            {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
