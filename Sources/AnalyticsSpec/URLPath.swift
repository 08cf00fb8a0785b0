/// The path of a page's address, as an event's `path`: the Segment mapping and the script tag's hits read
/// one from a URL.
public enum URLPath {
    /// From the first `/` after `scheme://host` (or `//host`) to before its query or fragment; `/` when it
    /// has none. A relative URL starting with one `/` is read as a path; anything else is `/`.
    public static func of(_ url: String) -> String {
        var rest = Substring(url)
        let scheme = rest.prefix { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "." || $0 == "-") }
        let authority: Substring.Index?
        if let first = scheme.first, first.isLetter, rest[scheme.endIndex...].hasPrefix("://") {
            authority = rest.index(scheme.endIndex, offsetBy: 3)
        } else if rest.hasPrefix("//") {
            authority = rest.index(rest.startIndex, offsetBy: 2)
        } else {
            authority = nil
        }
        if let authority {
            rest = rest[authority...]
            guard let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }), rest[slash] == "/" else { return "/" }
            rest = rest[slash...]
        } else if !rest.hasPrefix("/") {
            return "/"
        }
        let end = rest.firstIndex { $0 == "?" || $0 == "#" } ?? rest.endIndex
        let path = rest[..<end]
        return path.isEmpty ? "/" : String(path)
    }
}
